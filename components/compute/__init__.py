"""What both clouds' compute share: the regional cluster interface and the GPU pool interface."""
from components.compute.base import GpuNodePoolBase, PodScheduling, RegionalCompute, after, scheduling_for

__all__ = ["GpuNodePoolBase", "PodScheduling", "RegionalCompute", "after", "scheduling_for"]

from distill.plugins.linker.task import Link, LinkerTask, Links

__all__ = ["Link", "LinkerTask", "Links"]

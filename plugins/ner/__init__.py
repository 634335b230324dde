from distill.plugins.ner.task import Entities, Entity, NERTask

__all__ = ["Entities", "Entity", "NERTask"]

from distill.plugins.factcheck.task import FactCheckInput, FactCheckTask, Verdict, Verdicts

__all__ = ["FactCheckInput", "FactCheckTask", "Verdict", "Verdicts"]

from distill.plugins.sentiment.task import Opinion, Opinions, SentimentTask

__all__ = ["Opinion", "Opinions", "SentimentTask"]

"""The distillation workflow: train a small model, evaluate it beside the prompt backend.

`train.fit` trains a task's `trained` backend and writes its model card;
`evaluate.run_evaluation` scores any backend with the task's own scorer.
"""

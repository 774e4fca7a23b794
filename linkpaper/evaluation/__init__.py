"""Evaluation: the AVVP inference rule and F-scores, prediction files, the paper's reported
numbers, and what a gain between two models is worth."""

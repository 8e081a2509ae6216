#!/usr/bin/python3
"""Writes the design matrix and labels of logistic.nf from the Wisconsin
breast-cancer data (569 tumours, 30 features; Street, Wolberg & Mangasarian
1993) as scikit-learn ships it (Debian: python3-sklearn):
  breast_cancer_X.csv  569 x 31: a column of ones, then the 30 features
                       standardised (mean 0, standard deviation 1)
  breast_cancer_y.csv  569 labels, 1 = malignant, 0 = benign
Run from anywhere; writes beside this script. Standard library only."""
import csv
import math
import os

SOURCE = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv"
here = os.path.dirname(os.path.abspath(__file__))
with open(SOURCE) as f:
    rows = list(csv.reader(f))[1:]  # the first line is "569,30,malignant,benign"
features = [[float(v) for v in r[:30]] for r in rows]
# scikit-learn's target: 0 = malignant, 1 = benign
labels = [1 - int(r[30]) for r in rows]
n = len(features)
mean = [sum(r[j] for r in features) / n for j in range(30)]
sd = [math.sqrt(sum((r[j] - mean[j]) ** 2 for r in features) / n) for j in range(30)]
with open(os.path.join(here, "breast_cancer_X.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["bias"] + [f"f{j}" for j in range(30)])
    for r in features:
        w.writerow([1] + [f"{(r[j] - mean[j]) / sd[j]:.6f}" for j in range(30)])
with open(os.path.join(here, "breast_cancer_y.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["malignant"])
    for y in labels:
        w.writerow([y])

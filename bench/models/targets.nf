# The targets of the variational benchmark (bench/variational.py), each also
# written in PyTorch there.
target banana(dim = 2) {
  logp = -x0^2 / 8 - 0.5 * (x1 - x0^2 / 4)^2
}

target logistic(dim = 31) {
  data X = "../../examples/variational/breast_cancer_X.csv"
  data y = "../../examples/variational/breast_cancer_y.csv"
  let eta = dot(X, x)
  logp = sum(y * eta - softplus(eta)) - 0.5 * dot(x, x)
}

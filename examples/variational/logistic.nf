# The posterior of a Bayesian logistic regression on the Wisconsin breast-
# cancer data (569 tumours, 30 standardised features and a bias; written by
# breast_cancer.py from scikit-learn's copy): w ~ N(0, I), and
#   p(y_i = 1 | w) = sigmoid(X_i . w),
#   log p~(w) = sum_i (y_i X_i.w - log(1 + exp(X_i.w))) - |w|^2 / 2.
# nfc train examples/variational/logistic.nf --target logistic --steps 3000 --lr 3e-3
# A linear layer gives every Gaussian (the Laplace approximation's family);
# the couplings bend it where the posterior is not Gaussian.
flow posterior(dim = 31) {
  linear
  repeat 2 {
    coupling affine(mask = alternate) { net = mlp(hidden = [64], act = tanh) }
  }
  elementwise affine(s = 0, t = 0)
}

target logistic(dim = 31) {
  data X = "breast_cancer_X.csv"
  data y = "breast_cancer_y.csv"
  let eta = dot(X, x)
  logp = sum(y * eta - softplus(eta)) - 0.5 * dot(x, x)
}

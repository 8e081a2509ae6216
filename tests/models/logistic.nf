# A user transform through logit and sigmoid, relu and softplus nets, and a
# conditioner without hidden layers.
transform sig(x; s, t) = logit(sigmoid(x) * 0.5 + 0.25) * exp(s) + t
flow logistic(dim = 4) {
  coupling sig(mask = [1, 0, 1, 0]) { net = mlp(hidden = [4], act = relu); s = tanh(s) }
  permute reverse
  coupling affine(mask = [0, 1, 1, 0]) { net = mlp(hidden = [3, 3], act = softplus) }
  coupling additive(mask = alternate) { net = mlp(hidden = [], act = relu) }
}

# A context embedding, a base with a network and an elementwise layer with
# a network all read the context: a flow without one refuses them.
flow f(dim = 2, context_net = mlp(hidden = [8], out = 4),
# expect: 3:31: error: 'context_net' embeds the context of a conditional flow; this flow has none (declare context = N)
       base = diag_normal(net = mlp(hidden = [8]))) {
# expect: 5:33: error: a base with a network needs a conditional flow: its mean and log-scale are networks of the context (declare context = N)
  elementwise affine { net = mlp(hidden = [4]) }
# expect: 7:24: error: a network in 'elementwise' computes its parameters from the context; this flow has none (declare context = N)
}

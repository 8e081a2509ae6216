# W5: the MAF of examples/fashion/maf.nf without its two elementwise
# pre-processing layers (which cost nothing next to the MADEs): 784-D, 5
# MADE layers of one hidden layer of 1024 units, order reversed between.
flow maf784(dim = 784) {
  repeat 5 {
    maf affine(order = natural) {
      net = made(hidden = [1024], act = relu)
      s = 2 * tanh(s / 2)
    }
    permute reverse
  }
}

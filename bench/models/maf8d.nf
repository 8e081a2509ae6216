# W2 of the benchmark: 5 MAF layers on 8 dimensions, MADE 2 x 128 ReLU,
# reversing the order between layers.
flow maf8d(dim = 8) {
  repeat 5 {
    maf affine { net = made(hidden = [128, 128], act = relu) }
    permute reverse
  }
}

# W4 of the benchmark: 5 MAF layers on 64 dimensions, MADE 2 x 512 ReLU,
# reversing the order between layers.
flow maf64d(dim = 64) {
  repeat 5 {
    maf affine { net = made(hidden = [512, 512], act = relu) }
    permute reverse
  }
}

# Heavy tails: a Student-t base (df 4) under a MAF layer.
flow base_student_t(dim = 2, base = student_t(df = 4)) {
  maf affine(order = natural) {
    net = made(hidden = [8], act = tanh)
  }
}

# Masked autoregressive flow for Fashion-MNIST, in the setup Papamakarios et
# al. (2017) used for MNIST: 5 MADE layers with one hidden layer of 1024
# units, the order reversed between layers, on dequantised pixels mapped
# through a logit with alpha = 0.05. The first two layers count their
# log-dets, so `nfc eval` reports honest bits/dim of the 0..255 pixels.
flow fashion_maf(dim = 784, image = [28, 28, 1]) {
  dequantize(levels = 256)
  elementwise logit(alpha = 0.05)
  repeat 5 {
    maf affine(order = natural) {
      net = made(hidden = [1024], act = relu)
      s = 2 * tanh(s / 2)                       # soft clamp of the log-scale
    }
    permute reverse
  }
}

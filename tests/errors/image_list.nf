flow f(dim = 12, image = [2, 6]) {
# expect: 1:26: error: 'image' must be a list [height, width, channels], found 2 values
  permute reverse
}

// Compiles a flow through the installed API and checks that its density
// integrates to about one on a grid.
#include <cmath>
#include <cstdio>
#include <nfc/nfc.hpp>

int main() {
  nfc::Model m = nfc::Model::compile("flow line(dim = 1) { map { z0 = x0 * 2 + 1 } }");
  std::vector<double> x;
  for (int i = 0; i <= 4000; ++i) x.push_back(-10 + i * 0.005);
  double mass = 0;
  for (double lp : m.log_prob(x)) mass += std::exp(lp) * 0.005;
  std::printf("%s: mass %.4f\n", m.name().c_str(), mass);
  return std::fabs(mass - 1) < 1e-3 ? 0 : 1;
}

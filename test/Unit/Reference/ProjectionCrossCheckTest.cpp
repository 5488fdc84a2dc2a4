//===- ProjectionCrossCheckTest.cpp - runtime top-k vs reference sparsify -===//
#include "Reference/Reference.h"

#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/TopK.h"

#include <gtest/gtest.h>

using namespace circ;
using namespace circ::reference;

namespace {

// Tests that the runtime's O(n) projection keeps exactly the entries the
// reference's sort-based sparsify keeps, for every sparse parameter of a
// model (rows rule for c_attn / c_fc, columns rule for the c_proj's, none
// for the embeddings), at several densities.
TEST(ProjectionCrossCheck, RuntimeMatchesReferenceSparsify) {
  for (double density : {1.0, 0.3, 1.0 / 64, 1.0 / 1000}) {
    ModelConfig c;
    c.nLayer = 2;
    c.dModel = 64;
    c.dHead = 16;
    c.dMlp = 256;
    c.vocab = 300;
    c.positionalTable = true;
    c.weightDensity = density;
    c.embedDensity = std::min(1.0, density * 4);
    Params params = randomParams(c, 3);
    // Both sides see the same fp32 values.
    for (auto &[name, t] : params)
      for (double &x : t)
        x = static_cast<float>(x);
    Params projected = params;
    std::map<std::string, int64_t> kept = sparsify(c, projected);
    rt::ThreadPool pool(2);
    for (const ParamSpec &spec : modelParameters(c)) {
      if (!spec.isSparse())
        continue;
      const Tensor &orig = params.at(spec.name);
      std::vector<float> w(orig.begin(), orig.end());
      bool embedding = spec.kind == ParamKind::TokenEmbedding ||
                       spec.kind == ParamKind::Unembedding;
      int64_t budget = rt::l0Budget(
          spec, embedding ? c.embedDensity : c.weightDensity, c.minPerUnit);
      EXPECT_EQ(budget, kept.at(spec.name)) << spec.name;
      rt::projectTopK(w.data(), spec, budget, c.minPerUnit, 0.0f, pool,
                      nullptr);
      const Tensor &want = projected.at(spec.name);
      for (size_t i = 0; i < w.size(); ++i)
        ASSERT_EQ(static_cast<double>(w[i]), want[i])
            << spec.name << "[" << i << "] at density " << density;
    }
  }
}

} // namespace

//===- TaskGenerate.cpp - expanding task templates into pairs --*- C++ -*-===//
//
// One datapoint = one draw of every slot the prompt reaches (lazily, in
// expansion order), shared by prompt A and prompt B, plus the contrast's two
// values. Draws come from a Philox stream keyed by (seed, task name), so
// generation is reproducible on every machine; which split a pair belongs to
// is a hash of its prompts, independent of the seed.
//
//===----------------------------------------------------------------------===//
#include "TaskDef.h"

#include "circ_runtime/Random.h"

#include <map>
#include <set>

namespace circ::tasks {

const char *splitName(Split split) {
  return split == Split::Train ? "train" : "test";
}

Split splitOf(std::string_view promptA, std::string_view promptB) {
  // Order-independent, so a pair and its mirror (B, A) share a split.
  std::string key;
  if (promptB < promptA)
    std::swap(promptA, promptB);
  key.append(promptA).push_back('\0');
  key.append(promptB);
  // FNV-1a, then the splitmix64 finaliser so the low bits are well mixed.
  uint64_t h = rt::streamOf(key);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h % kTestBuckets == 0 ? Split::Test : Split::Train;
}

const std::string &Task::name() const { return def->name; }
const std::string &Task::description() const { return def->description; }
const SourceLoc &Task::loc() const { return def->loc; }
bool Task::isBuiltin() const { return def->builtin; }

namespace {

class Rng {
public:
  Rng(uint64_t seed, uint64_t stream) : seed(seed), stream(stream) {}
  /// Uniform in [0, n) (multiply-shift; bias below 2^-58 for our n).
  size_t below(size_t n) {
    rt::PhiloxCounter b = rt::randomBits(seed, stream, counter++);
    uint64_t x = (static_cast<uint64_t>(b[1]) << 32) | b[0];
    return static_cast<size_t>((static_cast<unsigned __int128>(x) * n) >> 64);
  }

private:
  uint64_t seed, stream, counter = 0;
};

/// The bindings of one datapoint and the expansion of its templates.
class Datapoint {
public:
  Datapoint(const TaskDef &d, Rng &rng)
      : d(d), rng(rng), chosen(d.bindings.size(), kUnbound) {}

  /// Draws the contrast, then expands prompts and completions.
  bool build(TaskPair &pair) {
    const Binding &c = d.bindings[d.contrast];
    if (c.twoOf) {
      if (!pick(c, contrastEntry[0]) || !pick(c, contrastEntry[1]))
        return false;
    } else {
      contrastEntry[0] = 0;
      contrastEntry[1] = 1;
      if (!c.list->name.empty())
        used[c.list.get()].insert({0, 1});
    }
    return expand(d.prompt, 0, pair.promptA, &pair.spansA, 0) &&
           expand(d.prompt, 1, pair.promptB, &pair.spansB, 0) &&
           expand(d.completion, 0, pair.completionA, nullptr, 0) &&
           expand(d.completion, 1, pair.completionB, nullptr, 0);
  }

  std::string error;

private:
  static constexpr size_t kUnbound = SIZE_MAX;

  /// An entry of b's list not yet drawn from the same named list.
  bool pick(const Binding &b, size_t &entry) {
    const ListDef &list = *b.list;
    std::set<size_t> &taken = used[&list];
    size_t free = list.entries.size() - taken.size();
    if (free == 0) {
      error = "one pair draws more than " +
              std::to_string(list.entries.size()) + " distinct entries from " +
              (list.name.empty() ? "the list of slot '" + b.names[0] + "'"
                                 : "list '" + list.name + "'");
      return false;
    }
    size_t r = rng.below(free);
    for (entry = 0;; ++entry)
      if (!taken.count(entry) && r-- == 0)
        break;
    taken.insert(entry);
    return true;
  }

  bool expand(const Template &tpl, int side, std::string &out,
              std::vector<Span> *spans, int depth) {
    for (const Segment &s : tpl.segments) {
      if (!s.isRef) {
        out += s.text;
        continue;
      }
      auto [bi, component] = d.symbols.at(s.text);
      const Binding &b = d.bindings[bi];
      if (b.isContrast) {
        size_t start = out.size();
        if (!expand(b.list->entries[contrastEntry[side]][component], side, out,
                    nullptr, depth + 1))
          return false;
        if (spans)
          spans->push_back({start, out.size() - start});
        continue;
      }
      if (chosen[bi] == kUnbound && !pick(b, chosen[bi]))
        return false;
      if (!expand(b.list->entries[chosen[bi]][component], side, out, spans,
                  depth + 1))
        return false;
    }
    return true;
  }

  const TaskDef &d;
  Rng &rng;
  std::vector<size_t> chosen;
  size_t contrastEntry[2] = {0, 1};
  std::map<const ListDef *, std::set<size_t>> used;
};

} // namespace

rt::Expected<std::vector<TaskPair>> Task::generate(Split split, uint64_t seed,
                                                   size_t count) const {
  std::string where = def->loc.file + ":" + std::to_string(def->loc.line) +
                      ": task '" + def->name + "': ";
  Rng rng(seed, rt::streamOf("circ.task." + def->name));
  std::vector<TaskPair> out;
  std::set<std::string> seen;
  // Enough attempts that a template with a large enough space never fails by
  // chance, few enough that an exhausted one fails quickly.
  const size_t maxDraws = 256 + 64 * count;
  size_t draws = 0;
  for (; draws < maxDraws && out.size() < count; ++draws) {
    TaskPair pair;
    Datapoint dp(*def, rng);
    if (!dp.build(pair))
      return rt::Error::failure(where + dp.error);
    if (pair.promptA == pair.promptB)
      return rt::Error::failure(
          where + "the contrast's two values give identical prompts: \"" +
          pair.promptA + "\"");
    if (pair.completionA == pair.completionB)
      return rt::Error::failure(
          where + "the contrast's two values give identical completions: \"" +
          pair.completionA + "\"");
    if (splitOf(pair.promptA, pair.promptB) != split)
      continue;
    std::string key = std::min(pair.promptA, pair.promptB) + '\0' +
                      std::max(pair.promptA, pair.promptB);
    if (seen.insert(std::move(key)).second)
      out.push_back(std::move(pair));
  }
  if (out.size() < count)
    return rt::Error::failure(
        where + "only " + std::to_string(out.size()) + " distinct " +
        splitName(split) + " pairs in " + std::to_string(draws) + " draws, " +
        std::to_string(count) + " requested; give its slots longer lists");
  return out;
}

} // namespace circ::tasks

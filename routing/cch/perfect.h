// Perfect customisation of a customised CCH metric (Dibbelt, Strasser, Wagner: "Customizable Contraction
// Hierarchies", JEA 2016, section on perfect witness search), our own code after RoutingKit's
// CustomizableContractionHierarchyMetric::build_contraction_hierarchy_using_perfect_witness_search.
//
// Why (issue #18): a basic customisation keeps every CCH arc, so a search walks the whole elimination-tree path
// of its ends (≈ 2,000 ancestors, ≈ 800 upward arcs each near the top separators at a million nodes). Lowering
// every arc to the true distance between its ends and dropping the arcs that a strictly shorter path through a
// higher node makes useless leaves a contraction hierarchy: a search only needs the nodes it reaches upward over
// the kept arcs (at a million nodes of the synthetic province, 40 % of the arcs are kept and a 2×2 query_many is
// 2.8 times faster; bench_cch_query.py). Unlike RoutingKit's, this starts from the weights a metric holds already
// (no second customisation) and builds only what our query walks: two upward graphs by rank.
#pragma once

#include <routingkit/constants.h>
#include <routingkit/customizable_contraction_hierarchy.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace hazmat_perfect {

constexpr unsigned PERFECT_INF = RoutingKit::inf_weight;
constexpr unsigned PERFECT_INVALID = RoutingKit::invalid_id;

// The kept arcs of one direction as an upward graph (node ids are CCH ranks, heads ascending per tail), their
// perfect weights, and how each unpacks: ``second`` INVALID means ``first`` is an input arc of equal weight;
// otherwise the arc is the backward kept arc ``first`` followed by the forward kept arc ``second`` (a lower
// triangle whose perfect weights add up to it). A forward arc x -> y runs from x to y; a backward arc of tail x
// and head y runs from y down to x. The unpacking is stored, 8 of the 16 bytes per arc: unpacking through the
// metric's lower triangles instead, as the basic query does, halved the memory and the build but cost a 2×2 query
// 0.55 ms more at a million nodes (1.46 against 0.90 ms).
struct UpGraph {
    std::vector<unsigned> first_out, head, weight, first, second;

    // The kept arc from x up to y, or PERFECT_INVALID (heads are sorted).
    unsigned find(unsigned x, unsigned y) const {
        auto begin = head.begin() + first_out[x], end = head.begin() + first_out[x + 1];
        auto it = std::lower_bound(begin, end, y);
        return it != end && *it == y ? static_cast<unsigned>(it - head.begin()) : PERFECT_INVALID;
    }
    size_t bytes() const {
        return sizeof(unsigned) * (first_out.size() + head.size() + weight.size() + first.size() + second.size());
    }
};

// Immutable once built: a metric holds it by shared_ptr, its copies share it, a new state of the metric drops it.
struct Perfect {
    UpGraph forward, backward;
    size_t bytes() const { return forward.bytes() + backward.bytes(); }
};

// Append the input arcs of a kept arc, in path order (an explicit stack: a chain of shortcuts may be as deep as
// the hierarchy).
inline void unpack(const Perfect &p, bool is_forward, unsigned arc, std::vector<unsigned> &out,
                   std::vector<std::pair<bool, unsigned>> &stack) {
    stack.clear();
    stack.emplace_back(is_forward, arc);
    while (!stack.empty()) {
        auto [forward, a] = stack.back();
        stack.pop_back();
        const UpGraph &g = forward ? p.forward : p.backward;
        if (g.second[a] == PERFECT_INVALID) {
            out.push_back(g.first[a]);
        } else {
            stack.emplace_back(true, g.second[a]);
            stack.emplace_back(false, g.first[a]);
        }
    }
}

namespace detail {

// The input arc of a CCH arc whose weight equals ``w`` (its first input arc, then the extra ones), as RoutingKit's
// unpack_original_*_arc finds it; PERFECT_INVALID when none has that weight.
inline unsigned input_arc_of_weight(const RoutingKit::CustomizableContractionHierarchy &cch, unsigned cch_arc,
                                    bool is_forward, unsigned w, const std::vector<unsigned> &input_weight) {
    if (!cch.does_cch_arc_have_input_arc.is_set(cch_arc))
        return PERFECT_INVALID;
    const auto &first = is_forward ? cch.forward_input_arc_of_cch : cch.backward_input_arc_of_cch;
    unsigned i = cch.does_cch_arc_have_input_arc_mapper.to_local(cch_arc);
    if (first[i] == PERFECT_INVALID)
        return PERFECT_INVALID;
    if (input_weight[first[i]] == w)
        return first[i];
    if (cch.does_cch_arc_have_extra_input_arc.is_set(cch_arc)) {
        const auto &extra_first =
            is_forward ? cch.first_extra_forward_input_arc_of_cch : cch.first_extra_backward_input_arc_of_cch;
        const auto &extra = is_forward ? cch.extra_forward_input_arc_of_cch : cch.extra_backward_input_arc_of_cch;
        unsigned j = cch.does_cch_arc_have_extra_input_arc_mapper.to_local(cch_arc);
        for (unsigned k = extra_first[j]; k < extra_first[j + 1]; ++k)
            if (input_weight[extra[k]] == w)
                return extra[k];
    }
    return PERFECT_INVALID;
}

}  // namespace detail

// From a customised metric's arc weights (copies: they are lowered in place) and its input weights: the perfect
// upward graphs. Pure computation over the immutable hierarchy, so it runs off the metric's lock. One thread: on
// two cores shared with another process, two OpenMP threads (by elimination-tree depth) took 2.4 times as long.
inline std::shared_ptr<const Perfect> build(const RoutingKit::CustomizableContractionHierarchy &cch,
                                            std::vector<unsigned> fw, std::vector<unsigned> bw,
                                            const std::vector<unsigned> &input_weight) {
    const unsigned arcs = cch.cch_arc_count(), n = cch.node_count();
    constexpr uint8_t F = 1, B = 2;
    std::vector<unsigned> fw0 = fw, bw0 = bw;  // the basic weights: an arc lowered below its own is dropped
    std::vector<uint8_t> keep(arcs);
    for (unsigned a = 0; a < arcs; ++a)
        keep[a] = (fw[a] != PERFECT_INF ? F : 0) | (bw[a] != PERFECT_INF ? B : 0);

    // Top arc down: every arc of a higher id is final when an arc is the bottom of its upper triangles (x < y < z:
    // bottom xy, mid xz, top yz). The bottom is lowered through z (dropped: a strictly shorter path over a higher
    // node), the mid through y (dropped: x -> y -> z, an upward path of kept arcs, is as short). Sums of two
    // weights of at most INF fit in 32 bits; a sum with an INF lowers nothing. Node by node, top down (the arcs
    // are ordered by tail, then head); minima without branches, the arcs lowered found after (a fifth faster).
    auto lower_node = [&](unsigned x) {
        for (unsigned a = cch.up_first_out[x + 1]; a-- > cch.up_first_out[x];) {
            unsigned y = cch.up_head[a];
            unsigned xz = a + 1, xz_end = cch.up_first_out[x + 1];
            unsigned yz = cch.up_first_out[y], yz_end = cch.up_first_out[y + 1];
            unsigned fa = fw[a], ba = bw[a];
            while (xz != xz_end && yz != yz_end) {
                if (cch.up_head[xz] < cch.up_head[yz]) {
                    ++xz;
                } else if (cch.up_head[xz] > cch.up_head[yz]) {
                    ++yz;
                } else {
                    unsigned fxz = fw[xz], bxz = bw[xz], fyz = fw[yz], byz = bw[yz];
                    fa = std::min(fa, fxz + byz);
                    ba = std::min(ba, bxz + fyz);
                    fw[xz] = std::min(fxz, fa + fyz);
                    bw[xz] = std::min(bxz, ba + byz);
                    ++xz;
                    ++yz;
                }
            }
            fw[a] = fa;
            bw[a] = ba;
        }
    };
    for (unsigned x = n; x-- > 0;)
        lower_node(x);
    for (unsigned a = 0; a < arcs; ++a) {  // lowered: dropped
        if (fw[a] != fw0[a])
            keep[a] &= ~F;
        if (bw[a] != bw0[a])
            keep[a] &= ~B;
    }
    std::vector<unsigned>().swap(fw0);
    std::vector<unsigned>().swap(bw0);

    auto result = std::make_shared<Perfect>();
    std::vector<unsigned> fmap(arcs, PERFECT_INVALID), bmap(arcs, PERFECT_INVALID);
    for (int d = 0; d < 2; ++d) {
        const uint8_t bit = d == 0 ? F : B;
        const auto &w = d == 0 ? fw : bw;
        auto &map = d == 0 ? fmap : bmap;
        UpGraph &g = d == 0 ? result->forward : result->backward;
        g.first_out.assign(static_cast<size_t>(n) + 1, 0);
        for (unsigned a = 0; a < arcs; ++a)
            if (keep[a] & bit) {
                map[a] = static_cast<unsigned>(g.head.size());
                g.head.push_back(cch.up_head[a]);
                g.weight.push_back(w[a]);
                ++g.first_out[cch.up_tail[a] + 1];
            }
        for (unsigned x = 0; x < n; ++x)
            g.first_out[x + 1] += g.first_out[x];
        g.first.assign(g.head.size(), PERFECT_INVALID);
        g.second.assign(g.head.size(), PERFECT_INVALID);
    }

    // Each kept arc's unpacking: an input arc of its perfect weight, else a lower triangle (z below both ends) of
    // two kept arcs whose perfect weights add up to it (one walk over the lower triangles for both directions).
    // One exists: the basic weight of a kept arc is that of a path through lower nodes; split at its highest node
    // z, both halves bound the perfect weights of zx and zy, which then add up to it exactly, and a half lowered
    // since would break the triangle inequality. False if one is missing (never: but an error, not a wrong path).
    auto unpack_arc = [&](unsigned a) {
        bool need_f = false, need_b = false;
        unsigned local_f = fmap[a], local_b = bmap[a];
        if (keep[a] & F) {
            unsigned input = detail::input_arc_of_weight(cch, a, true, fw[a], input_weight);
            result->forward.first[local_f] = input;
            need_f = input == PERFECT_INVALID;
        }
        if (keep[a] & B) {
            unsigned input = detail::input_arc_of_weight(cch, a, false, bw[a], input_weight);
            result->backward.first[local_b] = input;
            need_b = input == PERFECT_INVALID;
        }
        if (!need_f && !need_b)
            return true;
        unsigned x = cch.up_tail[a], y = cch.up_head[a];
        unsigned xd = cch.down_first_out[x], xd_end = cch.down_first_out[x + 1];
        unsigned yd = cch.down_first_out[y], yd_end = cch.down_first_out[y + 1];
        while (xd != xd_end && yd != yd_end && (need_f || need_b)) {
            if (cch.down_head[xd] < cch.down_head[yd]) {
                ++xd;
            } else if (cch.down_head[xd] > cch.down_head[yd]) {
                ++yd;
            } else {
                unsigned zx = cch.down_to_up[xd], zy = cch.down_to_up[yd];
                // forward x -> z -> y: backward of zx, then forward of zy
                if (need_f && (keep[zx] & B) && (keep[zy] & F) && bw[zx] + fw[zy] == fw[a]) {
                    result->forward.first[local_f] = bmap[zx];
                    result->forward.second[local_f] = fmap[zy];
                    need_f = false;
                }
                // backward y -> z -> x: backward of zy, then forward of zx
                if (need_b && (keep[zy] & B) && (keep[zx] & F) && bw[zy] + fw[zx] == bw[a]) {
                    result->backward.first[local_b] = bmap[zy];
                    result->backward.second[local_b] = fmap[zx];
                    need_b = false;
                }
                ++xd;
                ++yd;
            }
        }
        return !need_f && !need_b;
    };
    for (unsigned a = 0; a < arcs; ++a)
        if (keep[a] && !unpack_arc(a))
            throw std::logic_error("perfect customisation: CCH arc " + std::to_string(a) +
                                   " has neither an input arc nor a lower triangle of its weight");
    return result;
}

}  // namespace hazmat_perfect

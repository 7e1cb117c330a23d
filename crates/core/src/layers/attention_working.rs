//! The working behind an attention layer's numbers: the four projections,
//! the optional rotary embedding, and the scores each head computes — all
//! of them, or under a causal mask only those of the positions each query
//! sees, summed row by row.

use super::attention::{MultiHeadAttention, Sizes};
use super::explain::{group, minus, num, over, plus, sum, times, Explanation, Expr, Section, Step};
use super::{node_counts, LayerCost, LayerError};

/// Each of the four projections' fan-in and outputs: Q, K, V read the
/// width; the output projection reads the heads' q_out features.
fn projections(s: &Sizes) -> (Expr, bool) {
    let kv = || {
        if s.kv_heads == s.heads && s.q_out() == s.width {
            num(s.width)
        } else {
            times(vec![num(s.kv_heads), num(s.head_size)])
        }
    };
    let q = || {
        if s.q_out() == s.width {
            num(s.width)
        } else {
            times(vec![num(s.heads), num(s.head_size)])
        }
    };
    // With q_out = width all four read and write `width`-sized vectors but
    // K and V: one fan-in for the four.
    let same_fan_in = s.q_out() == s.width;
    let outs = if same_fan_in {
        sum(vec![
            (false, q()),
            (false, kv()),
            (false, kv()),
            (false, num(s.width)),
        ])
    } else {
        sum(vec![(false, q()), (false, kv()), (false, kv())])
    };
    (outs, same_fan_in)
}

/// Scores per head: `seq·seq`, or under a causal mask row i (from 1) sees
/// min(i, window) keys.
fn scores_step(m: &MultiHeadAttention, s: &Sizes, value: i128) -> Option<Step> {
    if !m.causal {
        return None;
    }
    let l = s.seq;
    let triangle = |n: i64| over(times(vec![num(n), plus(num(n), num(1))]), num(2));
    let closed = match s.window {
        None => triangle(l),
        Some(w) => plus(triangle(w), times(vec![minus(num(l), num(w)), num(w)])),
    };
    // The first rows only: a sequence may be long.
    let rows: Vec<i64> = (0..l.min(16)).map(|i| s.keys_of_row(i, true)).collect();
    let mut step = Step::new("scores per head", closed, value);
    if l <= 16 {
        // Short enough to write every row out.
        step.forms
            .insert(0, sum(rows.iter().map(|&k| (false, num(k))).collect()));
    } else {
        let head: Vec<String> = rows[..4].iter().map(i64::to_string).collect();
        step = step.note(format!(
            "rows see {}, … keys{}",
            head.join(", "),
            match s.window {
                Some(w) => format!(": i for the first {w} rows, then {w}"),
                None => String::new(),
            }
        ));
    }
    Some(step)
}

pub(crate) fn explain(m: &MultiHeadAttention, cost: &LayerCost) -> Result<Explanation, LayerError> {
    let s = m.sizes(&cost.input_shape)?;
    let bias = cost
        .bias
        .ok_or_else(|| LayerError::Invalid("no bias counts".into()))?;
    let (w, l, h, d) = (s.width, s.seq, s.heads, s.head_size);
    let (outs, same_fan_in) = projections(&s);
    let (mut proj_macs, mut proj_flops, mut att_macs, mut att_flops, mut rot_flops) =
        (0, 0, 0, 0, 0);
    for n in &cost.report.nodes {
        let (mac, flop) = node_counts(n);
        match n.op_type.as_str() {
            "Attention" | "GroupQueryAttention" => {
                att_macs += mac;
                att_flops += flop;
            }
            "RotaryEmbedding" => rot_flops += flop,
            _ => {
                proj_macs += mac;
                proj_flops += flop;
            }
        }
    }
    // Scores per head, from the engine's MACs: each is a Q·Kᵀ and a P·V
    // product of d.
    let per_score_macs = i128::from(h) * 2 * i128::from(d);
    let k_engine = if per_score_macs == 0 {
        0
    } else {
        att_macs / per_score_macs
    };

    let mut header = format!("Sizes: seq = {l}, width = {w}, {h} heads of d = ");
    header.push_str(&match m.head_dim {
        Some(_) => format!("{d} (head_dim; heads·d = {})", s.q_out()),
        None => format!("width/heads = {d}"),
    });
    if s.kv_heads != h {
        header.push_str(&format!(
            ", {} key/value heads (K and V have {}·{d} features)",
            s.kv_heads, s.kv_heads
        ));
    }
    match (m.causal, m.window, s.window) {
        (_, Some(wd), Some(_)) => header.push_str(&format!(
            "; causal with a sliding window of {wd}: query row i (from 1) sees min(i, {wd}) keys"
        )),
        (_, Some(wd), None) => header.push_str(&format!(
            "; causal (a window of {wd} is no narrower than the sequence): row i sees i keys"
        )),
        (true, None, _) => header.push_str("; causal: query row i (from 1) sees i keys"),
        _ => {}
    }
    let header = Section::new(header);

    let fan_in_params = |with_bias: bool| {
        let wb = if with_bias {
            plus(num(w), num(1))
        } else {
            num(w)
        };
        if same_fan_in {
            times(vec![wb, group(outs.clone())])
        } else {
            let qb = if with_bias {
                plus(times(vec![num(h), num(d)]), num(1))
            } else {
                times(vec![num(h), num(d)])
            };
            plus(
                times(vec![wb, group(outs.clone())]),
                times(vec![qb, num(w)]),
            )
        }
    };
    let params = super::conv::bias_steps(
        Section::new(if same_fan_in {
            "Params: four linear layers, (width + 1)·out each with a bias: Q and output out = \
             width, K and V out = kv_heads·d"
        } else {
            "Params: four linear layers: Q, K, V (width + 1)·out each with a bias (Q out = \
             heads·d, K and V out = kv_heads·d), the output (heads·d + 1)·width"
        }),
        &bias,
        fan_in_params(true),
        fan_in_params(false),
        true,
    );

    let proj_mac_form = if same_fan_in {
        times(vec![num(l), num(w), group(outs.clone())])
    } else {
        times(vec![
            num(l),
            group(plus(
                times(vec![num(w), group(outs.clone())]),
                times(vec![num(h), num(d), num(w)]),
            )),
        ])
    };
    let mut macs = Section::new(if m.causal || !same_fan_in {
        "MACs: the projections seq·fan-in·out each; then per head, for each score computed, \
         Q·Kᵀ (d) and its share of the context P·V (d)"
    } else {
        "MACs: the projections seq·width·out each; then per head the scores Q·Kᵀ (seq·seq·d) \
         and the context P·V (seq·seq·d)"
    })
    .step(Step::new("projections", proj_mac_form, proj_macs));
    let attention_macs = if let Some(step) = scores_step(m, &s, k_engine) {
        macs = macs.step(step);
        times(vec![num(h), num(k_engine), group(plus(num(d), num(d)))])
    } else {
        times(vec![num(h), num(l), num(l), group(plus(num(d), num(d)))])
    };
    let macs = macs
        .step(Step::new("attention", attention_macs, att_macs))
        .step(Step::new(
            "MACs",
            plus(num(proj_macs), num(att_macs)),
            cost.macs as i128,
        ));

    let proj_flops_form = |with_bias: bool| {
        let per = |fan_in: Expr| {
            let dot = group(minus(fan_in.clone(), num(1)));
            if with_bias {
                group(sum(vec![(false, fan_in), (false, dot), (false, num(1))]))
            } else {
                group(plus(fan_in, dot))
            }
        };
        if same_fan_in {
            times(vec![num(l), per(num(w)), group(outs.clone())])
        } else {
            times(vec![
                num(l),
                group(plus(
                    times(vec![per(num(w)), group(outs.clone())]),
                    times(vec![per(times(vec![num(h), num(d)])), num(w)]),
                )),
            ])
        }
    };
    let attention_flops = if m.causal {
        // Per score 2d − 1 (Q·Kᵀ), 1 (scale), 5 (softmax), 2d (P·V); per
        // row 2 fewer (softmax) and d fewer (P·V's first product).
        times(vec![
            num(h),
            group(minus(
                times(vec![
                    num(k_engine),
                    group(sum(vec![
                        (false, minus(times(vec![num(2), num(d)]), num(1))),
                        (false, num(1)),
                        (false, num(5)),
                        (false, times(vec![num(2), num(d)])),
                    ])),
                ]),
                times(vec![num(l), group(plus(num(2), num(d)))]),
            )),
        ])
    } else {
        times(vec![
            num(h),
            num(l),
            group(sum(vec![
                (
                    false,
                    times(vec![
                        num(l),
                        group(minus(times(vec![num(2), num(d)]), num(1))),
                    ]),
                ),
                (false, num(l)),
                (false, times(vec![num(5), num(l)])),
                (true, num(2)),
                (
                    false,
                    times(vec![
                        num(d),
                        group(minus(times(vec![num(2), num(l)]), num(1))),
                    ]),
                ),
            ])),
        ])
    };
    let (other, other_value) = if bias.enabled {
        ("without bias", bias.flops_without as i128)
    } else {
        ("with bias", bias.flops_with as i128)
    };
    // The other variant differs only in its projections.
    let fixed = att_flops + rot_flops;
    let other_proj = other_value - fixed;
    let projection_rule = if same_fan_in {
        "each projection [width + (width − 1) + 1] per output with a bias"
    } else {
        "each projection [fan-in + (fan-in − 1) + 1] per output with a bias"
    };
    let attention_rule = if m.causal {
        "per head, for each score 2d − 1 (Q·Kᵀ), 1 (scaling by 1/√d), 5 (softmax) and 2d \
         (P·V), less 2 + d per query row (the softmax's and P·V's first additions)"
    } else {
        "per head and query, seq·(2d − 1) for the scores, seq for the scaling by 1/√d, \
         5·seq − 2 for the softmax, d·(2·seq − 1) for P·V"
    };
    let mut flops = Section::new(format!("FLOPs: {projection_rule}; {attention_rule}")).step(
        Step::new("projections", proj_flops_form(m.bias), proj_flops),
    );
    let mut total_terms = vec![(false, num(proj_flops))];
    if m.rotary {
        flops = flops.step(
            Step::new(
                "rotary",
                times(vec![
                    num(3),
                    num(l),
                    group(plus(num(h), num(s.kv_heads))),
                    num(d),
                ]),
                rot_flops,
            )
            .note("3 per rotated element of Q (heads·d) and K (kv_heads·d), as `rotary`"),
        );
        total_terms.push((false, num(rot_flops)));
    }
    total_terms.push((false, num(att_flops)));
    let flops = flops
        .step(Step::new("attention", attention_flops, att_flops))
        .step(Step::new(
            "FLOPs",
            sum(total_terms.clone()),
            cost.flops as i128,
        ))
        .step(Step::new(
            format!("projections {other}"),
            proj_flops_form(!m.bias),
            other_proj,
        ))
        .step(Step::new(
            other,
            sum(std::iter::once((false, num(other_proj)))
                .chain(total_terms.into_iter().skip(1))
                .collect()),
            other_value,
        ));
    Ok(Explanation {
        sections: vec![header, params, macs, flops],
    })
}

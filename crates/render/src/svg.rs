//! The HTML report's memory and time charts, as inline SVG: live
//! activation memory step by step, and the roofline with one point per
//! node.

use std::fmt::Write;

use nncost_core::memory::MemoryReport;
use nncost_core::roofline::{Bound, Roofline};
use nncost_core::{Poly, Report};

use crate::html::esc;
use crate::units::{bytes, human};

/// Plot area: width, height and the margins around it.
const W: f64 = 560.0;
const H: f64 = 300.0;
const LEFT: f64 = 80.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 10.0;
const RIGHT: f64 = 20.0;

fn open_svg(id: &str, caption: &str) -> String {
    format!(
        "<figure><figcaption>{}</figcaption><svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\">",
        esc(caption),
        LEFT + W + RIGHT,
        TOP + H + BOTTOM
    )
}

/// A number in human units for an axis: `1 K`, `10 M`.
fn tick_label(v: f64) -> String {
    if v < 1.0 {
        format!("{v}")
    } else {
        human(v.round() as i128).replace(".00", "")
    }
}

/// Live activation bytes at each step of the file's order (solid) and of
/// the least order found (dashed, when it differs), with the peak marked.
pub fn live_memory_chart(report: &Report, m: &MemoryReport) -> String {
    let file = &m.file_order.live_at_one;
    let least = &m.least_order.live_at_one;
    let max = file.iter().chain(least).copied().fold(0.0, f64::max);
    if file.len() < 2 || max <= 0.0 {
        return String::new();
    }
    let symbolic = !m.file_order.peak.symbols().is_empty();
    let mut svg = open_svg(
        "live-memory",
        &format!(
            "Live activation memory at each step{}",
            if symbolic { " (every symbol at 1)" } else { "" }
        ),
    );
    let steps = file.len() - 1;
    let x = |k: usize| LEFT + W * k as f64 / steps as f64;
    let y = |v: f64| TOP + H - H * v / max;
    let line = |values: &[f64], style: &str| -> String {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(k, v)| format!("{:.1},{:.1}", x(k), y(*v)))
            .collect();
        format!(
            "<polyline fill=\"none\" stroke-width=\"1.5\" {style} points=\"{}\"/>",
            points.join(" ")
        )
    };
    // Axes, with the peak's value on the left.
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\"/><line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"#888\"/>",
        TOP + H,
        LEFT + W,
        TOP + H,
        TOP + H
    );
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        LEFT - 6.0,
        TOP + 10.0,
        esc(&bytes(&Poly::constant(max.round() as i128), false)),
        LEFT - 6.0,
        TOP + H
    );
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">step (node in the order run)</text>",
        LEFT + W / 2.0,
        TOP + H + 30.0
    );
    svg.push_str(&line(file, "stroke=\"#4a7bd0\""));
    if m.least_order.order != m.file_order.order {
        svg.push_str(&line(least, "stroke=\"#d07a4a\" stroke-dasharray=\"5,3\""));
    }
    // The file order's peak, with the node's name on hover.
    if let Some(k) = file
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(k, _)| k)
    {
        let name = k.checked_sub(1).map_or("the inputs".to_string(), |i| {
            report.nodes[m.file_order.order[i]].name.to_string()
        });
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#c33\"><title>peak at {}</title></circle>",
            x(k),
            y(file[k]),
            esc(&name)
        );
    }
    svg.push_str("</svg>");
    let legend = if m.least_order.order != m.file_order.order {
        "<span style=\"color:#4a7bd0\">— the file's order</span> · <span style=\"color:#d07a4a\">- - the least order found</span>"
    } else {
        "the file's order (no order has a lower peak)"
    };
    let _ = write!(svg, "<p class=\"note\">{legend}</p></figure>");
    svg
}

/// The roofline: attainable FLOP/s against arithmetic intensity (FLOPs per
/// byte), both on log scales, with one point per node at its lower-bound
/// time. Points on the slanted roof are memory-bound, on the flat one
/// compute-bound.
pub fn roofline_plot(report: &Report, r: &Roofline) -> String {
    // (intensity, achieved FLOP/s, node index, bound)
    let points: Vec<(f64, f64, usize, Bound)> = r
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let work = report.nodes[i]
                .cost
                .as_ref()
                .map_or(0.0, |c| c.flops.at_one() + c.int_ops.at_one());
            let intensity = t.intensity?;
            (work > 0.0 && t.seconds > 0.0 && intensity > 0.0)
                .then(|| (intensity, work / t.seconds, i, t.bound))
        })
        .collect();
    if points.is_empty() {
        return String::new();
    }
    let log = f64::log10;
    let lo_x = points
        .iter()
        .map(|p| log(p.0))
        .fold(log(r.ridge), f64::min)
        .floor();
    let hi_x = points
        .iter()
        .map(|p| log(p.0))
        .fold(log(r.ridge), f64::max)
        .ceil()
        + 1.0;
    let lo_y = points
        .iter()
        .map(|p| log(p.1))
        .fold(log(r.peak), f64::min)
        .floor();
    let hi_y = log(r.peak).ceil();
    let x = |i: f64| LEFT + W * (log(i) - lo_x) / (hi_x - lo_x);
    let y = |f: f64| TOP + H - H * (log(f) - lo_y) / (hi_y - lo_y).max(1.0);
    let mut svg = open_svg(
        "roofline",
        &format!(
            "Roofline on {} at {}: one point per node at its least time",
            r.hardware.name,
            r.precision.name()
        ),
    );
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{}\" y2=\"{b}\" stroke=\"#888\"/><line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" stroke=\"#888\"/>",
        LEFT + W,
        b = TOP + H
    );
    for k in lo_x as i32..=hi_x as i32 {
        let v = 10f64.powi(k);
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(v),
            TOP + H + 14.0,
            tick_label(v)
        );
    }
    for k in lo_y as i32..=hi_y as i32 {
        let v = 10f64.powi(k);
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            y(v) + 4.0,
            tick_label(v)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">FLOPs per byte moved</text><text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">FLOP/s</text>",
        LEFT + W / 2.0,
        TOP + H + 32.0,
        TOP + H / 2.0,
        TOP + H / 2.0
    );
    // The roof: bandwidth × intensity up to the ridge, then the peak.
    let start = 10f64.powf(lo_x).max(10f64.powf(lo_y) / r.bandwidth);
    let end = 10f64.powf(hi_x);
    let _ = write!(
        svg,
        "<polyline id=\"roof\" fill=\"none\" stroke=\"#333\" stroke-width=\"2\" points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"/>",
        x(start),
        y(start * r.bandwidth),
        x(r.ridge),
        y(r.peak),
        x(end),
        y(r.peak)
    );
    for (intensity, perf, i, bound) in &points {
        let color = match bound {
            Bound::Compute => "#4a7bd0",
            Bound::Memory => "#d07a4a",
        };
        let _ = write!(
            svg,
            "<circle class=\"node-point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\" fill-opacity=\"0.7\"><title>{} ({}): {:.1} FLOPs/byte, {} bound</title></circle>",
            x(*intensity),
            y(*perf),
            esc(&report.nodes[*i].name),
            esc(&report.nodes[*i].op_type),
            intensity,
            bound.as_str()
        );
    }
    svg.push_str("</svg><p class=\"note\"><span style=\"color:#4a7bd0\">● compute-bound</span> · <span style=\"color:#d07a4a\">● memory-bound</span> · the roof is the device's peak FLOP/s and its bandwidth × intensity; times are lower bounds, not measurements</p></figure>");
    svg
}

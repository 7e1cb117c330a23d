//! The report as one self-contained HTML page: no network, nothing
//! fetched; its style, script and charts are inline. It shows the totals,
//! the convention, charts of the share of FLOPs by module and by operator,
//! the module tree (collapsible, every count at every level), and a
//! sortable, searchable table of the nodes.
//!
//! Opened with `#selftest`, the page exercises itself (opens the tree,
//! sorts, filters) and writes what it found into `<pre id="selftest">`, so
//! that a headless browser's `--dump-dom` can check it
//! (`scripts/browser_test.sh`).

use std::fmt::Write;

use nncost_core::report::{NodeStatus, ValueReport, CONVENTION};
use nncost_core::shape::SharedShape;
use nncost_core::{Poly, Report};

use crate::remembered::Remembered;
use crate::svg;
use crate::table::{
    bindings_text, memory_lines, model_facts, module_label, module_title, shape_text, share_note,
    training_lines,
};
use crate::units::{bytes, grouped, human, poly, seconds};
use crate::ModelInfo;

/// Characters that must not reach HTML raw (shared by every HTML page and
/// chart nncost writes).
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A count as text (human units) and as the exact value for scripts.
fn count_cell(p: Option<&Poly>) -> (String, String, f64) {
    match p {
        None => ("?".into(), String::new(), -1.0),
        Some(p) => (poly(p, false), p.to_string(), p.at_one()),
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em}\
dl.totals{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}\
table{border-collapse:collapse}th,td{padding:.15em .6em;text-align:right;white-space:nowrap}\
th{cursor:pointer;background:#f0f0f0;position:sticky;top:0}td.t,th.t{text-align:left}\
tr:nth-child(even){background:#fafafa}.note{color:#666}\
details{margin-left:1.2em}summary{cursor:pointer}summary span{color:#555;margin-left:.8em}\
svg text{font:12px system-ui,sans-serif}";

const SCRIPT: &str = r#"
(function(){
  var ready=performance.now();
  var table=document.getElementById('nodes');
  var body=table.tBodies[0];
  var heads=table.tHead.rows[0].cells;
  function sortBy(col,numeric){
    var rows=Array.prototype.slice.call(body.rows);
    var dir=heads[col].getAttribute('data-dir')==='desc'?1:-1;
    rows.sort(function(a,b){
      var x=a.cells[col].getAttribute('data-sort'),y=b.cells[col].getAttribute('data-sort');
      if(numeric){x=parseFloat(x);y=parseFloat(y);return dir*(x-y);}
      return dir*(x<y?-1:x>y?1:0);
    });
    heads[col].setAttribute('data-dir',dir===1?'asc':'desc');
    rows.forEach(function(r){body.appendChild(r);});
  }
  Array.prototype.forEach.call(heads,function(h,i){
    h.addEventListener('click',function(){sortBy(i,h.getAttribute('data-numeric')==='1');});
  });
  var search=document.getElementById('search');
  function filter(text){
    var t=text.toLowerCase(),shown=0;
    Array.prototype.forEach.call(body.rows,function(r){
      var hit=r.textContent.toLowerCase().indexOf(t)>=0;
      r.style.display=hit?'':'none';if(hit)shown++;
    });
    return shown;
  }
  search.addEventListener('input',function(){filter(search.value);});
  if(location.hash==='#selftest'){
    var details=document.querySelectorAll('details');
    details.forEach(function(d){d.open=true;});
    var open=document.querySelectorAll('details[open]').length;
    var flopsCol=-1;
    Array.prototype.forEach.call(heads,function(h,i){if(h.textContent==='FLOPs')flopsCol=i;});
    heads[flopsCol].setAttribute('data-dir','asc');
    sortBy(flopsCol,true);
    var heaviest=body.rows[0].cells[1].textContent;
    var conv=filter('Conv');
    var all=filter('');
    var out={details:details.length,open:open,rows:all,heaviest:heaviest,conv_rows:conv,
      ready_ms:Math.round(ready),
      totals:{params:document.getElementById('total-params').getAttribute('data-exact'),
              macs:document.getElementById('total-macs').getAttribute('data-exact'),
              flops:document.getElementById('total-flops').getAttribute('data-exact')}};
    var peak=document.getElementById('memory-peak');
    if(peak){out.memory_peak=peak.getAttribute('data-exact');
      out.live_chart=document.querySelectorAll('#live-memory polyline').length;}
    var secs=document.getElementById('roofline-seconds');
    if(secs){out.roofline_seconds=parseFloat(secs.getAttribute('data-exact'));
      out.roofline_points=document.querySelectorAll('#roofline circle.node-point').length;}
    document.getElementById('selftest').textContent=JSON.stringify(out);
  }
})();
"#;

/// A horizontal bar chart of shares, as inline SVG.
fn bar_chart(title: &str, items: &[(String, f64)]) -> String {
    let total: f64 = items.iter().map(|(_, v)| v).sum();
    if total <= 0.0 {
        return String::new();
    }
    let (row, label_w, bar_w) = (18, 220, 360);
    let h = row * items.len() + 4;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" role=\"img\">",
        esc(title),
        label_w + bar_w + 70
    );
    for (i, (name, v)) in items.iter().enumerate() {
        let y = i * row;
        let w = (v / total * bar_w as f64).max(1.0);
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\" fill=\"#4a7bd0\"/><text x=\"{:.1}\" y=\"{}\">{:.1}%</text>",
            label_w - 6,
            y + 13,
            esc(name),
            label_w,
            y + 3,
            row - 5,
            label_w as f64 + w + 4.0,
            y + 13,
            100.0 * v / total
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// The page as one string (see [`render_to`]).
pub fn render(report: &Report, info: &ModelInfo) -> String {
    let mut page = Vec::with_capacity(4096 + 400 * report.nodes.len());
    render_to(report, info, &mut page).expect("writing to memory does not fail");
    String::from_utf8(page).expect("the page is made of strings")
}

/// Text held before it is written: a million nodes' rows are 300 MB.
const WRITE_EVERY: usize = 64 * 1024;

/// Writes the page to `sink` as it is made.
pub fn render_to(
    report: &Report,
    info: &ModelInfo,
    sink: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let t = &report.totals;
    let mut out = String::with_capacity(2 * WRITE_EVERY);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>nncost · {}</title><style>{STYLE}</style></head><body>",
        esc(&info.source)
    );
    let _ = write!(out, "<h1>nncost · {}</h1>", esc(&info.source));
    let mut facts = model_facts(info);
    if let Some(b) = bindings_text(report) {
        facts.push(format!("bound: {b}"));
    }
    let _ = write!(out, "<p class=\"note\">{}</p>", esc(&facts.join(" · ")));
    // What the format states beside the counts (a language model's
    // embedding parameters and KV cache, a checkpoint's dtypes), as the
    // table's header lists it.
    if !info.facts.is_empty() {
        out.push_str("<h2>Model</h2><dl class=\"totals\" id=\"facts\">");
        for f in &info.facts {
            let _ = write!(
                out,
                "<dt>{}</dt><dd data-key=\"{}\">{}</dd>",
                esc(&f.label),
                esc(&f.key),
                esc(&f.text(false))
            );
        }
        out.push_str("</dl>");
    }

    // Totals, each with its exact value for scripts.
    out.push_str("<h2>Totals</h2><dl class=\"totals\">");
    let exact_int = |n: u64| format!("{} ({})", human(n.into()), grouped(n.into()));
    let _ = write!(
        out,
        "<dt>params</dt><dd id=\"total-params\" data-exact=\"{}\">{}</dd>",
        t.params,
        esc(&exact_int(t.params))
    );
    if t.buffers > 0 {
        let _ = write!(
            out,
            "<dt>buffers</dt><dd>{}</dd>",
            esc(&exact_int(t.buffers))
        );
    }
    for (id, name, p) in [
        ("total-macs", "MACs", &t.cost.macs),
        ("total-flops", "FLOPs", &t.cost.flops),
        ("total-int-ops", "int ops", &t.cost.int_ops),
    ] {
        if name == "int ops" && p.is_zero() {
            continue;
        }
        let _ = write!(
            out,
            "<dt>{name}</dt><dd id=\"{id}\" data-exact=\"{}\">{}</dd>",
            esc(&p.to_string()),
            esc(&poly(p, false))
        );
    }
    out.push_str("</dl>");
    if !report.is_complete() {
        let n = report.incomplete().count() + report.unsupported_count();
        let _ = write!(
            out,
            "<p class=\"note\">Partial: {n} nodes are not counted (see the table).</p>"
        );
    }
    let _ = write!(out, "<p class=\"note\">Convention: {}</p>", esc(CONVENTION));

    let mut training = training_lines(report, false);
    // Another tool's count, first of those lines, under its own heading
    // and with its exact value for scripts.
    if let Some(c) = &report.convention {
        if !training.is_empty() {
            let line = training.remove(0);
            let _ = write!(
                out,
                "<h2>As {} counts</h2><p id=\"convention-total\" data-convention=\"{}\" data-exact=\"{}\">{}</p>",
                esc(c.convention.name()),
                esc(c.convention.name()),
                esc(&c.total.to_string()),
                esc(&line.split_whitespace().collect::<Vec<_>>().join(" "))
            );
        }
    }
    if !training.is_empty() {
        out.push_str("<h2>Training</h2><ul>");
        for line in training {
            let _ = write!(out, "<li>{}</li>", esc(&line));
        }
        out.push_str("</ul>");
    }
    if let Some(m) = &report.memory {
        out.push_str("<h2>Memory and time</h2><ul>");
        for line in memory_lines(report, false) {
            let _ = write!(
                out,
                "<li>{}</li>",
                esc(&line.split_whitespace().collect::<Vec<_>>().join(" "))
            );
        }
        out.push_str("</ul>");
        // Exact values for scripts and tests.
        let _ = write!(
            out,
            "<p class=\"note\" id=\"memory-peak\" data-exact=\"{}\" data-least=\"{}\">Memory model: docs/memory.md (graph inputs live from the start, outputs to the end, each value freed after its last reader, views share storage).</p>",
            esc(&m.file_order.peak.to_string()),
            esc(&m.least_order.peak.to_string())
        );
        out.push_str(&svg::live_memory_chart(report, m));
        if let Some(r) = &report.roofline {
            let _ = write!(
                out,
                "<p class=\"note\" id=\"roofline-seconds\" data-exact=\"{:e}\"></p>",
                r.seconds
            );
            out.push_str(&svg::roofline_plot(report, r));
        }
    }

    // Charts, where shares are numbers.
    out.push_str("<h2>Where the FLOPs go</h2>");
    match share_note(report) {
        Some(note) => {
            let _ = write!(out, "<p class=\"note\">{}</p>", esc(&note));
        }
        None => {
            let modules: Vec<(String, f64)> = report
                .by_module(1)
                .into_iter()
                .map(|g| (module_label(&g.path), g.sum.cost.work_at_one()))
                .collect();
            out.push_str(&bar_chart("Share of FLOPs by module", &modules));
            let mut ops: Vec<(String, f64)> = report
                .by_op()
                .into_iter()
                .map(|g| (g.op_type, g.sum.cost.work_at_one()))
                .collect();
            ops.sort_by(|a, b| b.1.total_cmp(&a.1));
            ops.truncate(12);
            out.push_str(&bar_chart("Share of FLOPs by operator (12 heaviest)", &ops));
        }
    }

    // The module tree as nested <details>.
    out.push_str("<h2>Modules</h2><div id=\"tree\">");
    let mut open_depth = 0;
    for m in report.module_tree(usize::MAX) {
        while open_depth >= m.depth {
            out.push_str("</details>");
            open_depth -= 1;
        }
        let name = module_title(&m.path, m.class.as_deref());
        let _ = write!(
            out,
            "<details><summary>{}<span>{} node{} · params {} · MACs {} · FLOPs {}</span></summary>",
            esc(&name),
            m.sum.nodes,
            if m.sum.nodes == 1 { "" } else { "s" },
            esc(&human(m.sum.params.into())),
            esc(&poly(&m.sum.cost.macs, false)),
            esc(&poly(&m.sum.cost.flops, false))
        );
        open_depth = m.depth;
    }
    for _ in 0..open_depth {
        out.push_str("</details>");
    }
    out.push_str("</div>");

    // The node table.
    out.push_str(
        "<h2>Nodes</h2><p><input id=\"search\" type=\"search\" placeholder=\"filter by name or operator\" size=\"40\"></p>\
         <table id=\"nodes\"><thead><tr><th data-numeric=\"1\">#</th><th class=\"t\">node</th><th class=\"t\">op</th>\
         <th class=\"t\">output shape</th><th data-numeric=\"1\">params</th><th data-numeric=\"1\">MACs</th>\
         <th data-numeric=\"1\">FLOPs</th>",
    );
    if report.memory.is_some() {
        out.push_str("<th data-numeric=\"1\">out bytes</th><th data-numeric=\"1\">moved</th>");
    }
    if report.roofline.is_some() {
        out.push_str("<th data-numeric=\"1\">time ≥</th><th class=\"t\">bound</th>");
    }
    out.push_str("<th class=\"t\">status</th></tr></thead><tbody>");
    let mut texts = RowTexts::default();
    for (i, n) in report.nodes.iter().enumerate() {
        if out.len() >= WRITE_EVERY {
            sink.write_all(out.as_bytes())?;
            out.clear();
        }
        let shape = n
            .outputs
            .first()
            .map(|o| texts.shape(o))
            .unwrap_or_default();
        let (macs, macs_exact, macs_key) = texts.count(n.macs());
        let (flops, flops_exact, flops_key) = texts.count(n.flops());
        let status = match &n.status {
            NodeStatus::Counted => String::new(),
            NodeStatus::Unsupported => "unsupported".into(),
            NodeStatus::Incomplete { kind, reason } => format!("{}: {reason}", kind.as_str()),
        };
        let _ = write!(
            out,
            "<tr><td data-sort=\"{}\">{}</td><td class=\"t\" data-sort=\"{name}\">{name}</td><td class=\"t\" data-sort=\"{op}\">{op}</td>\
             <td class=\"t\" data-sort=\"{shape}\">{shape}</td><td data-sort=\"{}\">{}</td>\
             <td data-sort=\"{macs_key}\" title=\"{}\">{}</td><td data-sort=\"{flops_key}\" title=\"{}\">{}</td>",
            i + 1,
            i + 1,
            n.params,
            esc(&human(n.params.into())),
            macs_exact,
            macs,
            flops_exact,
            flops,
            name = esc(&n.name),
            op = esc(&n.op_type),
            shape = shape,
        );
        if let Some(m) = report.memory.as_ref().map(|m| &m.nodes[i]) {
            for b in [m.output_bytes.clone(), m.traffic.total().ok()] {
                let (text, key) = match &b {
                    Some(b) => (bytes(b, false), b.at_one()),
                    None => ("?".to_string(), -1.0),
                };
                let _ = write!(out, "<td data-sort=\"{key}\">{}</td>", esc(&text));
            }
        }
        if let Some(t) = report.roofline.as_ref().map(|r| &r.nodes[i]) {
            let _ = write!(
                out,
                "<td data-sort=\"{:e}\">{}</td><td class=\"t\" data-sort=\"{b}\">{b}</td>",
                t.seconds,
                esc(&seconds(t.seconds)),
                b = t.bound.as_str()
            );
        }
        let _ = write!(
            out,
            "<td class=\"t\" data-sort=\"{status}\">{status}</td></tr>",
            status = esc(&status)
        );
    }
    out.push_str("</tbody></table><pre id=\"selftest\"></pre>");
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    sink.write_all(out.as_bytes())
}

/// The escaped texts of the shapes and counts that rows repeat, made once
/// each (see `remembered.rs`).
#[derive(Default)]
struct RowTexts {
    shapes: Remembered<Option<SharedShape>, String>,
    /// [`count_cell`]'s texts, escaped, and its sort key.
    counts: Remembered<Poly, (String, String, f64)>,
}

impl RowTexts {
    fn shape(&mut self, o: &ValueReport) -> String {
        self.shapes
            .text(&o.shape, || esc(&shape_text(o.shape.as_deref())))
    }

    fn count(&mut self, p: Option<&Poly>) -> (String, String, f64) {
        let escaped = || {
            let (text, exact, key) = count_cell(p);
            (esc(&text), esc(&exact), key)
        };
        match p {
            Some(p) => self.counts.text(p, escaped),
            None => escaped(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nncost_core::Dim;

    /// Remembered row texts are the texts made afresh and escaped, for
    /// names that need escaping too, however often they come.
    #[test]
    fn remembered_row_texts_are_escaped_as_made() {
        let odd = Poly::symbol("a<b&\"c\"");
        let output = |shape: Option<SharedShape>| ValueReport {
            name: "y".into(),
            dtype: None,
            shape,
            elements: None,
        };
        let shapes: [Option<SharedShape>; 3] = [
            Some(vec![Dim::Known(odd.clone()), Dim::int(3)].into()),
            Some(Vec::new().into()),
            None,
        ];
        let counts = [
            Some(odd.checked_scale(64).unwrap()),
            Some(Poly::constant(1_500_000)),
            None,
        ];
        let mut texts = RowTexts::default();
        for _ in 0..3 {
            for shape in &shapes {
                let fresh = shape
                    .as_ref()
                    .map_or("?".to_string(), |s| nncost_core::shape::format_shape(s));
                assert_eq!(texts.shape(&output(shape.clone())), esc(&fresh));
            }
            for p in &counts {
                let (text, exact, key) = count_cell(p.as_ref());
                assert_eq!(texts.count(p.as_ref()), (esc(&text), esc(&exact), key));
            }
        }
        let escaped = texts.shape(&output(shapes[0].clone()));
        assert!(
            escaped.contains("&lt;") && escaped.contains("&amp;") && !escaped.contains('<'),
            "{escaped}"
        );
    }
}

// The page: reads dropped files through slices (only the ranges the Rust
// reader asks for), shows the command line's HTML report in a frame, and
// runs the layer calculator as the form changes. All counting is in the
// wasm module (crates/web); this file moves bytes and fills the DOM.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var nncost = null;      // the wasm exports, once instantiated
  var model = null;       // the Model of the files dropped last
  var files = [];
  var symbols = [];       // [{name, kind, meaning, upper_bound}] of the model
  var generation = 0;     // a newer drop makes an older reading moot
  var runs = 0;           // analyses shown, for whoever waits on the page
  var loadNote = '';      // what reading the model took

  function bytes(n) {
    var units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
  }
  function ms(t) { return t < 10 ? t.toFixed(1) : Math.round(t).toString(); }

  // A trap (a Rust panic) leaves the reason with the module.
  function message(e) {
    if (e instanceof WebAssembly.RuntimeError && nncost) {
      var p = nncost.lastPanic();
      if (p) return p + ' (reload the page)';
    }
    return e && e.message ? e.message : String(e);
  }

  // After a trap an object may still count as borrowed, and freeing it
  // throws: what matters then is the message already shown.
  function release(x) {
    try { if (x) x.free(); } catch (e) { /* see above */ }
  }

  function setStatus(state, text) {
    var s = $('status');
    s.setAttribute('data-state', state);
    s.textContent = text;
  }

  // ---- tabs ----
  function show(tab) {
    var layer = tab === 'layer';
    $('tab-model').setAttribute('aria-selected', String(!layer));
    $('tab-layer').setAttribute('aria-selected', String(layer));
    $('model-pane').hidden = layer;
    $('layer-pane').hidden = !layer;
    if (layer) calculate();
  }
  $('tab-model').addEventListener('click', function () { show('model'); });
  $('tab-layer').addEventListener('click', function () { show('layer'); });

  // ---- reading a model ----
  async function open(list) {
    if (!list.length || !nncost) return;
    var gen = ++generation;
    if (pending) { clearTimeout(pending); pending = null; }
    files = Array.prototype.slice.call(list);
    release(model);
    model = null;
    $('error').textContent = '';
    var t0 = performance.now();
    setStatus('busy', 'reading ' + files.map(function (f) { return f.name; }).join(', ') + ' …');
    var reader;
    try {
      reader = new nncost.Reader(JSON.stringify(files.map(function (f) { return f.name; })),
        Float64Array.from(files.map(function (f) { return f.size; })));
      for (;;) {
        var need = reader.need();
        if (need.length === 0) break;
        var asks = [];
        for (var i = 0; i < need.length; i += 3) asks.push([need[i], need[i + 1], need[i + 2]]);
        // Every range asked for at once: the reader asks for all it can.
        var got = await Promise.all(asks.map(function (a) {
          return files[a[0]].slice(a[1], a[1] + a[2]).arrayBuffer();
        }));
        if (gen !== generation) { release(reader); return; }
        for (var k = 0; k < asks.length; k++) reader.feed(asks[k][0], asks[k][1], new Uint8Array(got[k]));
      }
      var stats = reader.stats();
      var m = reader.finish();
      release(reader);
      reader = null;
      var read = performance.now() - t0;
      model = m;
      loadNote = '';
      var total = files.reduce(function (s, f) { return s + f.size; }, 0);
      var note = 'read ' + bytes(stats[0]) + ' of ' + bytes(total) + ' in ' + stats[1] +
        (stats[1] === 1 ? ' read, ' : ' reads, ') + ms(read) + ' ms';
      $('status').setAttribute('data-read-bytes', String(stats[0]));
      $('status').setAttribute('data-file-bytes', String(total));
      buildControls(null);
      analyse({start: t0, read: read, note: note});
    } catch (e) {
      release(reader);
      if (gen !== generation) return;
      setStatus('error', '');
      $('error').textContent = message(e);
      $('report').hidden = true;
      $('choices').hidden = true;
    }
  }

  // The page's choices, as the reader of choices in crates/web takes them.
  function choices() {
    var dims = {};
    var inputs = $('dims').querySelectorAll('input');
    for (var i = 0; i < inputs.length; i++) {
      var v = inputs[i].value.trim();
      inputs[i].classList.toggle('invalid', v !== '' && !/^\d+$/.test(v));
      if (v !== '') dims[inputs[i].getAttribute('data-dim')] = v;
    }
    return {
      dims: dims,
      convention: $('convention').value,
      phase: $('phase').value,
      bound: $('bound').checked ? 'max' : '',
      memory: $('memory').checked,
      hardware: $('hardware').value,
      dtype: $('dtype').value,
      training: $('training').checked
    };
  }

  // Fields for the sizes the model leaves symbolic, kept across analyses
  // of one model and pass.
  function buildControls(summary) {
    var next = summary ? summary.symbols : [];
    var same = summary && next.length === symbols.length &&
      next.every(function (s, i) { return s.name === symbols[i].name; });
    if (!same) {
      rebuilding = true;
      var kept = choices().dims;
      symbols = next;
      var box = $('dims');
      box.textContent = '';
      symbols.forEach(function (s) {
        var label = document.createElement('label');
        label.title = s.meaning + (s.upper_bound ? ' (at most ' + s.upper_bound + ')' : '');
        label.appendChild(document.createTextNode(s.name + ' '));
        var input = document.createElement('input');
        input.setAttribute('data-dim', s.name);
        input.inputMode = 'numeric';
        input.placeholder = s.kind === 'data' ? 'from data' : 'symbolic';
        if (kept[s.name] !== undefined) input.value = kept[s.name];
        label.appendChild(input);
        box.appendChild(label);
      });
      $('dims-box').hidden = symbols.length === 0;
      $('bound-box').hidden = !symbols.some(function (s) { return s.kind === 'data'; });
      rebuilding = false;
    }
    $('choices').hidden = false;
    $('phase-box').hidden = !(summary && summary.phases);
  }

  var pending = null;
  // A field being replaced (the sizes of another model or pass) fires a
  // change as it loses focus: not the person's.
  var rebuilding = false;
  function analyse(timing) {
    if (!model) return;
    var t0 = performance.now();
    var summary;
    try {
      summary = JSON.parse(model.analyse(JSON.stringify(choices())));
    } catch (e) {
      // The last report stays, faded: it is not of these choices.
      $('report').classList.add('stale');
      setStatus('error', '');
      $('error').textContent = message(e);
      return;
    }
    $('error').textContent = '';
    $('report').classList.remove('stale');
    var t1 = performance.now();
    // Written into the frame's own document rather than loaded as srcdoc:
    // a navigation costs tens of milliseconds more, and parsing here runs
    // the report's script before this returns.
    var frame = $('report');
    frame.hidden = false;
    var doc = frame.contentDocument;
    doc.open();
    doc.write(model.html());
    doc.close();
    var done = performance.now();
    runs++;
    var text = summary.source + ': ';
    var s = $('status');
    if (timing) {
      loadNote = timing.note;
      text += timing.note + '; analysed in ' + ms(t1 - t0) + ' ms; shown ' +
        ms(done - timing.start) + ' ms after the drop';
      s.setAttribute('data-read-ms', timing.read.toFixed(2));
      s.setAttribute('data-total-ms', (done - timing.start).toFixed(2));
    } else {
      text += loadNote + '; analysed again in ' + ms(t1 - t0) + ' ms, shown in ' + ms(done - t1) + ' ms';
    }
    s.setAttribute('data-analyse-ms', (t1 - t0).toFixed(2));
    s.setAttribute('data-runs', String(runs));
    setStatus('ready', text);
    buildControls(summary);
  }
  // Typing a size re-analyses once the page is idle, not on every key
  // of a long number.
  function later() {
    if (rebuilding) return;
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () { pending = null; analyse(null); }, 60);
  }
  $('choices').addEventListener('input', later);
  $('choices').addEventListener('change', later);

  var drop = $('drop');
  $('file').addEventListener('change', function (e) { open(e.target.files); });
  // The drop zone takes the focus: Enter or Space there chooses files.
  drop.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('file').click(); }
  });
  drop.addEventListener('dragover', function (e) { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', function () { drop.classList.remove('over'); });
  drop.addEventListener('drop', function (e) {
    e.preventDefault();
    drop.classList.remove('over');
    open(e.dataTransfer.files);
  });
  // A file dropped anywhere else must not replace the page.
  window.addEventListener('dragover', function (e) { e.preventDefault(); });
  window.addEventListener('drop', function (e) { e.preventDefault(); });

  // ---- the layer calculator ----
  // Options that take one of a few words get a list; the rest are typed.
  var WORDS = {
    bias: ['true', 'false'], causal: ['true', 'false'], rotary: ['true', 'false'],
    bidirectional: ['true', 'false'], ceil_mode: ['true', 'false'], normalize: ['true', 'false'],
    per_channel: ['true', 'false'], round: ['down', 'up'], mode: ['nearest', 'linear', 'cubic'],
    approximate: ['none', 'tanh']
  };
  var HINTS = {padding: 'N, NxN, same', kernel: 'N or NxN', stride: 'N or NxN', dilation: 'N or NxN',
    output_padding: 'N or NxN', scale: 'N or NxN', output: 'N or NxN', axis: '-1'};
  // The article's example, to start from.
  var START = {conv: {out_channels: '64', kernel: '3', padding: '1'}};
  var kinds = [];

  function kindFields(kind) {
    // Positional arguments that are also options are written as options
    // (k=3), which reads as the article does; the rest stay positional.
    var names = kind.options.map(function (o) { return o.split('|'); });
    var fields = [];
    kind.positional.forEach(function (p) {
      var named = names.find(function (n) { return n[0] === p; });
      fields.push({name: p, key: named ? (named[1] || named[0]) : null});
    });
    names.forEach(function (n) {
      if (!kind.positional.includes(n[0])) fields.push({name: n[0], key: n[1] || n[0]});
    });
    return fields;
  }

  function buildKind() {
    var kind = kinds[$('kind').selectedIndex];
    $('kind-about').textContent = kind.about;
    var box = $('calc-fields');
    box.textContent = '';
    var start = START[kind.name] || {};
    kindFields(kind).forEach(function (f) {
      var label = document.createElement('label');
      label.appendChild(document.createTextNode(f.name.replace(/_/g, ' ') + ' '));
      var input;
      if (WORDS[f.name]) {
        input = document.createElement('select');
        ['', ...WORDS[f.name]].forEach(function (w) {
          var o = document.createElement('option');
          o.value = w;
          o.textContent = w === '' ? '(default)' : w;
          input.appendChild(o);
        });
      } else {
        input = document.createElement('input');
        input.placeholder = f.key ? (HINTS[f.name] || '') : 'required';
        input.spellcheck = false;
      }
      input.setAttribute('data-name', f.name);
      if (f.key) input.setAttribute('data-key', f.key);
      if (start[f.name]) input.value = start[f.name];
      label.appendChild(input);
      box.appendChild(label);
    });
    compose();
  }

  // The form as a line of a .nn file: `conv 64 k=3 p=1`.
  function compose() {
    var kind = kinds[$('kind').selectedIndex];
    var words = [kind.name];
    var fields = $('calc-fields').querySelectorAll('[data-name]');
    var positional = [], named = [];
    for (var i = 0; i < fields.length; i++) {
      var v = fields[i].value.trim();
      if (v === '') continue;
      var key = fields[i].getAttribute('data-key');
      if (key) named.push(key + '=' + v); else positional.push(v);
    }
    $('statement').value = words.concat(positional, named).join(' ');
    calculate();
  }

  function calculate() {
    if (!nncost || !kinds.length) return;
    try {
      $('calc-out').textContent = nncost.calculate($('statement').value, $('calc-input').value,
        $('calc-batch').checked, $('calc-channels-last').checked);
      $('calc-error').textContent = '';
    } catch (e) {
      $('calc-out').textContent = '';
      $('calc-error').textContent = message(e);
    }
  }

  $('kind').addEventListener('change', buildKind);
  $('calc-fields').addEventListener('input', compose);
  $('calc-fields').addEventListener('change', compose);
  $('statement').addEventListener('input', calculate);
  ['calc-input', 'calc-batch', 'calc-channels-last'].forEach(function (id) {
    $(id).addEventListener('input', calculate);
    $(id).addEventListener('change', calculate);
  });

  function startCalculator() {
    kinds = JSON.parse(nncost.kinds());
    var select = $('kind');
    kinds.forEach(function (k) {
      var o = document.createElement('option');
      o.value = k.name;
      o.textContent = k.name + (k.aliases.length ? ' (' + k.aliases.join(', ') + ')' : '');
      select.appendChild(o);
    });
    select.value = 'conv';
    buildKind();
  }

  // ---- start: the module is inlined (base64), since a page opened from
  // disk may not fetch a file beside it ----
  (async function () {
    try {
      var b64 = NNCOST_WASM;
      var wasmBytes = typeof Uint8Array.fromBase64 === 'function' ? Uint8Array.fromBase64(b64)
        : Uint8Array.from(atob(b64), function (c) { return c.charCodeAt(0); });
      await wasm_bindgen({module_or_path: wasmBytes});
      nncost = wasm_bindgen;
      $('version').textContent = nncost.version();
      JSON.parse(nncost.devices()).forEach(function (d) {
        var o = document.createElement('option');
        o.value = d.id;
        o.textContent = d.name;
        $('hardware').appendChild(o);
      });
      startCalculator();
      document.body.setAttribute('data-ready', '1');
      if ($('file').files.length) open($('file').files);
    } catch (e) {
      $('error').textContent = 'cannot start: ' + message(e);
    }
  })();
})();

// The web page in a real browser (Debian's chromium, headless, driven by
// playwright-core), as a person uses it: the page opened from disk, files
// given to its file input (and one dropped on it), the totals read from
// the report in the page and compared with the command line's JSON for the
// same file, a size bound, the convention and the pass switched, the layer
// calculator filled in and its explanation compared with `nncost layer …
// --explain`; no console message, no request off the machine; and the
// time from giving the page a 100 MB ResNet-50 to its report shown.
//
//     node scripts/web_test.mjs NNCOST PAGE RESNET50
//
// (scripts/web_test.sh installs playwright-core, builds the page and
// makes the model, then runs this.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const [nncost, pagePath, resnet50] = process.argv.slice(2).map((p) => resolve(p));
const require = createRequire(join(process.cwd(), 'target/web-test/'));
const { chromium } = require('playwright-core');

let passed = 0;
let failed = 0;
function check(ok, what, detail) {
  if (ok) {
    passed++;
  } else {
    failed++;
    console.log(`FAIL ${what}${detail === undefined ? '' : ': ' + detail}`);
  }
}
function equal(got, want, what) {
  check(JSON.stringify(got) === JSON.stringify(want), what, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function cli(args) {
  return execFileSync(nncost, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
}
function cliJson(args) {
  return JSON.parse(cli([...args, '--format', 'json']));
}
// A count as the report's data-exact holds it: the integer, or the expression.
const exact = (c) => (c !== null && typeof c === 'object' ? c.expression : String(c));

const profile = mkdtempSync(join(tmpdir(), 'nncost-web-test-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1300, height: 1000 },
});
const messages = [];
const offMachine = [];
const page = context.pages()[0] || (await context.newPage());
page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => messages.push(`page error: ${e.message}`));
context.on('request', (r) => {
  if (!/^(file|data|blob|about):/.test(r.url())) offMachine.push(r.url());
});

try {
  const opened = Date.now();
  await page.goto('file://' + pagePath);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  console.log(`page ready ${Date.now() - opened} ms after opening it from disk`);

  const runs = () => page.getAttribute('#status', 'data-runs').then(Number);
  async function settled(before) {
    await page.waitForFunction((n) => {
      const s = document.getElementById('status');
      const e = document.getElementById('error').textContent;
      return e !== '' || (s.dataset.state === 'ready' && Number(s.dataset.runs) > n);
    }, before, { timeout: 60000 }).catch(async (e) => {
      throw new Error(`${e.message}; status: ${await page.textContent('#status')}; error: ${await page.textContent('#error')}`);
    });
    const error = await page.textContent('#error');
    check(error === '', 'no error on the page', error);
  }
  // Gives files to the page's input, as a person choosing them does.
  async function choose(paths) {
    const before = await runs();
    await page.setInputFiles('#file', []);
    await page.setInputFiles('#file', paths);
    await settled(before);
  }
  // Changes a control and waits for the report drawn again.
  async function change(act) {
    const before = await runs();
    await act();
    await settled(before);
  }
  // The totals the report in the page shows.
  const shown = () => page.evaluate(() => {
    const doc = document.getElementById('report').contentDocument;
    const get = (id) => {
      const el = doc.getElementById(id);
      return el ? { exact: el.dataset.exact, text: el.textContent } : null;
    };
    const facts = {};
    doc.querySelectorAll('#facts dd').forEach((d) => { facts[d.dataset.key] = d.textContent; });
    return {
      params: get('total-params'), macs: get('total-macs'), flops: get('total-flops'),
      convention: get('convention-total'), facts,
      rows: doc.querySelectorAll('#nodes tbody tr').length,
    };
  });
  async function compare(name, args) {
    const want = cliJson(args);
    const got = await shown();
    for (const k of ['params', 'macs', 'flops']) {
      equal(got[k] && got[k].exact, exact(want.totals[k]), `${name}: ${k}`);
    }
    // The figure a person reads, grouped as the command line prints it.
    check(got.params.text.includes(want.totals.params.toLocaleString('en-US')) || want.totals.params < 1000,
      `${name}: params shown`, got.params.text);
    equal(got.rows, want.nodes.length, `${name}: node rows`);
    if (want.convention_count) {
      equal(got.convention && got.convention.exact, exact(want.convention_count.total), `${name}: ${want.convention_count.convention} count`);
    }
    return { want, got };
  }
  const status = () => page.textContent('#status');

  // ---- an ONNX file: totals, a size bound, every convention ----
  await choose(['examples/resnet18.onnx']);
  await compare('resnet18.onnx', ['examples/resnet18.onnx']);
  const dims = await page.$$eval('#dims input', (xs) => xs.map((x) => x.dataset.dim));
  equal(dims, ['batch'], 'resnet18.onnx: the sizes offered to bind');
  await change(() => page.fill('#dims input[data-dim="batch"]', '1'));
  const bound = await compare('resnet18.onnx batch=1', ['examples/resnet18.onnx', '--dim', 'batch=1']);
  equal(bound.got.macs.exact, '1814073344', 'resnet18.onnx batch=1: MACs a number');
  await change(() => page.fill('#dims input[data-dim="batch"]', '8'));
  await compare('resnet18.onnx batch=8', ['examples/resnet18.onnx', '--dim', 'batch=8']);
  for (const convention of ['nncost', 'torch', 'torchvision', 'fvcore', 'thop', 'ptflops']) {
    await change(() => page.selectOption('#convention', convention));
    await compare(`resnet18.onnx batch=8 --convention ${convention}`,
      ['examples/resnet18.onnx', '--dim', 'batch=8', '--convention', convention]);
  }
  await change(() => page.selectOption('#convention', ''));
  equal((await shown()).convention, null, 'resnet18.onnx: no convention count once unset');
  // Memory and the roofline on a device, as --hardware h100 --dtype bf16.
  await change(() => page.fill('#dims input[data-dim="batch"]', '1'));
  await change(() => page.selectOption('#hardware', 'h100-sxm'));
  await change(() => page.selectOption('#dtype', 'bf16'));
  {
    const want = cliJson(['examples/resnet18.onnx', '--dim', 'batch=1', '--hardware', 'h100', '--dtype', 'bf16']);
    const got = await page.evaluate(() => {
      const doc = document.getElementById('report').contentDocument;
      return {
        peak: doc.getElementById('memory-peak').dataset.exact,
        seconds: Number(doc.getElementById('roofline-seconds').dataset.exact),
        points: doc.querySelectorAll('#roofline circle.node-point').length,
      };
    });
    equal(got.peak, exact(want.memory.file_order.peak_bytes), 'resnet18.onnx on h100 at bf16: peak memory');
    check(Math.abs(got.seconds - want.roofline.seconds) <= 1e-9 * want.roofline.seconds,
      'resnet18.onnx on h100 at bf16: roofline time', `${got.seconds} vs ${want.roofline.seconds}`);
    check(got.points > 0, 'resnet18.onnx on h100 at bf16: the roofline drawn');
  }
  await change(() => page.selectOption('#hardware', ''));
  await change(() => page.selectOption('#dtype', ''));
  console.log(`resnet18.onnx: ${await status()}`);

  // ---- sizes that depend on data: a detector, at their upper bounds ----
  {
    const detector = 'tests/fixtures/torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx';
    await choose([detector]);
    await compare('fasterrcnn', [detector]);
    check(await page.isVisible('#bound-box'), 'fasterrcnn: the bound offered for its data sizes');
    await change(() => page.check('#bound'));
    await compare('fasterrcnn --bound max', [detector, '--bound', 'max']);
    await change(() => page.uncheck('#bound'));
  }

  // ---- a network written by hand, dropped on the page ----
  {
    const before = await runs();
    await page.setInputFiles('#file', []);
    // A real drop: the files of an input handed to the drop zone's handler.
    const handle = await page.evaluateHandle(() => {
      const input = document.createElement('input');
      input.type = 'file';
      input.id = 'drop-source';
      input.hidden = true;
      document.body.appendChild(input);
      return input;
    });
    await handle.setInputFiles('examples/mobilenet_v2.nn');
    await page.evaluate(() => {
      const dt = new DataTransfer();
      for (const f of document.getElementById('drop-source').files) dt.items.add(f);
      document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      document.getElementById('drop-source').remove();
    });
    await settled(before);
    await compare('mobilenet_v2.nn (dropped)', ['examples/mobilenet_v2.nn']);
  }

  // ---- a Hugging Face config: both passes ----
  const llama = 'tests/fixtures/llm/llama';
  await choose([`${llama}/config.json`]);
  const prefill = await compare('llama config.json', [`${llama}/config.json`]);
  check(await page.isVisible('#phase-box'), 'llama config.json: the pass is offered');
  equal(prefill.got.facts.kv_cache_elements_per_token, String(prefill.want.model.facts.kv_cache_elements_per_token),
    'llama config.json: KV cache per token');
  await change(() => page.selectOption('#phase', 'decode'));
  await compare('llama config.json --phase decode', [`${llama}/config.json`, '--phase', 'decode']);
  await change(() => page.fill('#dims input[data-dim="ctx"]', '4096'));
  await compare('llama config.json --phase decode ctx=4096', [`${llama}/config.json`, '--phase', 'decode', '--dim', 'ctx=4096']);
  await change(() => page.selectOption('#phase', 'prefill'));

  // ---- a safetensors checkpoint with its config: the header only ----
  await choose([`${llama}/model.safetensors`, `${llama}/config.json`]);
  const st = await compare('llama model.safetensors', [`${llama}/model.safetensors`]);
  check(st.got.facts.checkpoint_check === 'all 21 tensors match' || /tensors match/.test(st.got.facts.checkpoint_check || ''),
    'llama model.safetensors: checked against the config', st.got.facts.checkpoint_check);
  {
    const s = await page.$eval('#status', (e) => ({ ...e.dataset }));
    const header = 8 + Number(readFileSync(`${llama}/model.safetensors`).readBigUInt64LE(0));
    const config = statSync(`${llama}/config.json`).size;
    equal(Number(s.readBytes), header + config, 'llama model.safetensors: read the header and the config, nothing more');
  }

  // ---- a sharded checkpoint: the index, its shards and the config dropped together ----
  {
    const dir = 'tests/fixtures/llm/llama_sharded';
    const index = `${dir}/model.safetensors.index.json`;
    await choose([`${dir}/model-00001-of-00002.safetensors`, `${dir}/model-00002-of-00002.safetensors`, index, `${dir}/config.json`]);
    const sharded = await compare('llama_sharded index and shards', [index]);
    check(/tensors match/.test(sharded.got.facts.checkpoint_check || ''), 'llama_sharded: checked against the config',
      sharded.got.facts.checkpoint_check);
  }

  // ---- GGUF: the header ----
  await choose(['tests/fixtures/llm/gguf/tiny_llama.gguf']);
  await compare('tiny_llama.gguf', ['tests/fixtures/llm/gguf/tiny_llama.gguf']);
  await change(() => page.fill('#dims input[data-dim="seq"]', '2048'));
  await compare('tiny_llama.gguf seq=2048', ['tests/fixtures/llm/gguf/tiny_llama.gguf', '--dim', 'seq=2048']);

  // ---- an error, in one line ----
  {
    const before = await runs();
    await page.setInputFiles('#file', { name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from([8, 7, 0x3a, 0x7f]) });
    await page.waitForFunction(() => document.getElementById('error').textContent !== '', null, { timeout: 30000 });
    const error = await page.textContent('#error');
    check(/^broken\.onnx: not an ONNX model: /.test(error) && !error.includes('\n'), 'a broken file: one line naming it', error);
    equal(await runs(), before, 'a broken file: no report drawn');
  }

  // ---- the layer calculator ----
  await page.click('#tab-layer');
  const out = () => page.textContent('#calc-out');
  const layer = (args) => cli(['layer', ...args, '--explain']);
  // As the page starts: the article's example.
  equal(await page.inputValue('#statement'), 'conv 64 k=3 p=1', 'calculator: the statement the form writes');
  const article = await out();
  equal(article, layer(['conv', '--input', '3x224x224', '--out-channels', '64', '--kernel', '3', '--padding', '1']),
    'calculator: conv 64 k=3 p=1 on 3x224x224 as nncost layer prints it');
  check(article.includes('params   1,792') && article.includes('MACs     86,704,128'), 'calculator: params 1,792 and MACs 86,704,128');
  // Typing a stride and the article's rounding: the working follows each key.
  await page.fill('#calc-fields [data-name="stride"]', '2');
  await page.fill('#calc-fields [data-name="padding"]', '');
  await page.selectOption('#calc-fields [data-name="round"]', 'up');
  await page.selectOption('#calc-fields [data-name="bias"]', 'false');
  equal(await page.inputValue('#statement'), 'conv 64 k=3 s=2 bias=false round=up', 'calculator: the statement follows the form');
  const rounded = await out();
  equal(rounded, layer(['conv', '--input', '3x224x224', '--out-channels', '64', '--kernel', '3', '--stride', '2', '--round', 'up', '--no-bias']),
    'calculator: rounding up, as nncost layer prints it');
  check(rounded.includes('is not whole: rounded up'), 'calculator: the rounding explained', rounded);
  // Pooling with ceil_mode, on a shape typed in.
  await page.selectOption('#kind', 'maxpool');
  await page.fill('#calc-input', '64x112x112');
  await page.fill('#calc-fields [data-name="kernel"]', '3');
  await page.fill('#calc-fields [data-name="stride"]', '2');
  await page.selectOption('#calc-fields [data-name="ceil_mode"]', 'true');
  equal(await out(), layer(['maxpool', '--input', '64x112x112', '--kernel', '3', '--stride', '2', '--ceil-mode']),
    'calculator: maxpool 3 s=2 ceil_mode=true as nncost layer prints it');
  // A batch axis given unannounced: refused with the hint, then accepted.
  await page.selectOption('#kind', 'conv');
  await page.fill('#calc-input', '1x3x224x224');
  const refused = await page.textContent('#calc-error');
  check(/^layer conv on 1x3x224x224: .*or pass --batch$/.test(refused), 'calculator: a batch axis refused with the hint', refused);
  equal(await out(), '', 'calculator: no working while refused');
  await page.check('#calc-batch');
  equal(await out(), layer(['conv', '--input', '1x3x224x224', '--batch', '--out-channels', '64', '--kernel', '3', '--padding', '1']),
    'calculator: --batch as nncost layer prints it');
  // A statement typed by hand.
  await page.uncheck('#calc-batch');
  await page.fill('#calc-input', '197x768');
  await page.fill('#statement', 'attention 12');
  equal(await out(), layer(['attention', '--input', '197x768', '--heads', '12']), 'calculator: attention 12 typed as a statement');
  await page.click('#tab-model');

  // ---- 100 MB of ResNet-50, weights embedded ----
  const size = statSync(resnet50).size;
  const times = [];
  let detail = '';
  for (let i = 0; i < 7; i++) {
    await choose([resnet50]);
    const s = await page.$eval('#status', (e) => ({ ...e.dataset, text: e.textContent }));
    times.push(Number(s.totalMs));
    detail = s.text;
  }
  await compare('resnet50 (102 MB)', [resnet50]);
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  console.log(`resnet50, ${(size / 1e6).toFixed(1)} MB with its weights: report shown in a median ${median.toFixed(1)} ms ` +
    `after the file was given (runs: ${times.map((t) => t.toFixed(0)).join(', ')} ms)`);
  console.log(`  last run: ${detail}`);
  check(median < 150, 'resnet50: shown in under 150 ms (median)', `${median} ms`);

  equal(messages, [], 'no console message');
  equal(offMachine, [], 'no request off the machine');
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`web_test: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

// Protea Studio: one page over the JSON API. No dependencies; every text from the server goes through textContent.
'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, children = []) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') e.textContent = v; else if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.appendChild(c);
  return e;
};
const pct = (p) => (100 * p).toFixed(1) + ' %';
let model = null;
let lastPredictions = [];

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const type = response.headers.get('content-type') || '';
  const body = type.includes('json') ? await response.json() : null;
  if (!response.ok) {
    const detail = body && (body.detail || body.title) ? (body.detail || body.title) : `request failed (${response.status})`;
    throw new Error(detail);
  }
  return body;
}

function showError(id, error) {
  const box = $(id);
  if (!error) { box.hidden = true; box.textContent = ''; return; }
  box.textContent = error.message || String(error);
  box.hidden = false;
}

async function loadModel() {
  model = await api('/api/model');
  $('model-line').textContent = `${model.architecture} + ${model.head} head · ${model.classes.length} classes · evidence: ${model.evidence_kind.replaceAll('_', ' ')} · model version ${model.version}`;
}

function showView(name) {
  for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.view === name));
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + name;
  if (name === 'classes') loadClasses().catch((e) => showError('predict-error', e));
}

function bars(top) {
  const list = el('ul', { class: 'bars', 'aria-label': 'Most likely classes' });
  for (const c of top) {
    const bar = el('div', { class: 'bar', role: 'img', 'aria-label': `${c.class}: ${pct(c.probability)}` }, [el('span')]);
    bar.firstChild.style.width = Math.max(0.5, 100 * c.probability) + '%';
    list.appendChild(el('li', {}, [el('span', { class: 'cls', text: c.class }), bar, el('span', { text: pct(c.probability) })]));
  }
  return list;
}

function heatCanvas(map, size) {
  const canvas = el('canvas', { class: 'heat', width: map.width, height: map.height, 'aria-hidden': 'true' });
  canvas.style.width = size + 'px'; canvas.style.height = size + 'px';
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(map.width, map.height);
  map.values.forEach((v, i) => { img.data[4 * i] = 255; img.data[4 * i + 1] = Math.round(200 * (1 - v)); img.data[4 * i + 2] = 0; img.data[4 * i + 3] = Math.round(255 * v); });
  ctx.putImageData(img, 0, 0);
  canvas.hidden = !$('heat-toggle').checked;
  return canvas;
}

function evidencePanel(p, imageUrl) {
  const box = el('div', { class: 'evidence', 'aria-label': 'Evidence' });
  for (const e of p.evidence || []) {
    if (e.kind === 'prototype') {
      const stack = el('div', { class: 'stack' }, [el('img', { class: 'thumb small', src: imageUrl, alt: `input with prototype ${e.prototype}'s activation` })]);
      if (e.heat_map) stack.appendChild(heatCanvas(e.heat_map, 72));
      const picture = e.image_url ? [el('img', { class: 'thumb small', src: e.image_url, alt: `prototype ${e.prototype} of ${e.class}: where it was learned` })] : [];
      box.appendChild(el('figure', { class: 'proto' }, [stack, ...picture,
        el('figcaption', { text: `this looks like prototype ${e.prototype} of ${e.class} (similarity ${e.similarity.toFixed(2)}, ${pct(e.share || 0)} of the score)` })]));
    } else if (e.kind === 'nearest_training_item') {
      const children = e.image_url ? [el('img', { class: 'thumb small', src: e.image_url, alt: `training item ${e.id}` })] : [];
      children.push(el('figcaption', { text: `${e.class}: ${e.id} (${e.similarity.toFixed(2)})` }));
      box.appendChild(el('figure', { class: 'nearest' }, children));
    }
  }
  if (!box.childNodes.length) box.appendChild(el('p', { class: 'help', text: 'This model keeps no evidence (train it with the parts head or --keep-index).' }));
  return box;
}

// The Grad-CAM map of a prediction: fetched only once the heat-map toggle shows it.
function saliencyFigure(p) {
  const img = el('img', { class: 'saliency', alt: `${p.saliency.method} heat map of ${p.input} for class ${p.saliency.class}` });
  img.dataset.src = p.saliency.image_url;
  const figure = el('figure', { class: 'saliency-map' }, [img, el('figcaption', { text: `Where the model looked (${p.saliency.method}, class ${p.saliency.class}): input, overlay, map` })]);
  showHeat(figure, $('heat-toggle').checked);
  return figure;
}

function showHeat(figure, on) {
  figure.hidden = !on;
  const img = figure.querySelector('img');
  if (on && !img.getAttribute('src')) img.src = img.dataset.src;
}

async function predict(files) {
  showError('predict-error', null);
  const form = new FormData();
  for (const f of files) form.append('file', f);
  const results = $('results');
  results.textContent = 'Predicting…';
  try {
    const body = await api('/api/predict', { method: 'POST', body: form });
    results.textContent = '';
    lastPredictions = body.predictions;
    body.predictions.forEach((p, i) => {
      const url = URL.createObjectURL(files[i]);
      const head = el('h3', { text: `${p.input}: ${p.class} (${pct(p.probability)})` });
      const card = el('article', { class: 'card prediction' }, [head]);
      if (p.is_unknown) card.appendChild(el('p', { class: 'unknown', text: `Possibly unknown: unknown score ${p.unknown_score.toFixed(3)} passes the model's threshold.` }));
      else if (p.unknown_score !== undefined) card.appendChild(el('p', { class: 'help', text: `Unknown score ${p.unknown_score.toFixed(3)} (below the threshold: a known class).` }));
      card.appendChild(el('div', { class: 'row' }, [el('img', { class: 'thumb', src: url, alt: `uploaded image ${p.input}` }), bars(p.top)]));
      card.appendChild(evidencePanel(p, url));
      if (p.saliency) card.appendChild(saliencyFigure(p));
      results.appendChild(card);
    });
  } catch (e) {
    results.textContent = '';
    showError('predict-error', e);
  }
}

async function loadClasses() {
  await loadModel();
  const classes = await api('/api/classes');
  const list = $('class-list');
  list.textContent = '';
  for (const c of classes) {
    const b = el('button', { type: 'button', text: c.examples == null ? c.name : `${c.name} (${c.examples})` });
    b.addEventListener('click', () => showClass(c.name));
    list.appendChild(el('li', {}, [b]));
  }
}

async function showClass(name) {
  const d = await api('/api/classes/' + encodeURIComponent(name));
  const box = $('class-detail');
  box.textContent = '';
  const card = el('article', { class: 'card' }, [el('h3', { text: d.name })]);
  const row = el('div', { class: 'row' });
  for (const x of d.examples) if (x.image_url) row.appendChild(el('img', { class: 'thumb small', src: x.image_url, alt: `example ${x.id}` }));
  if (d.prototypes.length) card.appendChild(el('p', { text: `${d.prototypes.length} prototypes, pushed from: ${d.prototypes.map((p) => p.source_item || '?').join(', ')}` }));
  for (const p of d.prototypes) if (p.picture) row.appendChild(el('img', { class: 'thumb', src: p.picture, alt: `prototype ${p.id} of ${d.name}, from training item ${p.source_item || 'unknown'}` }));
  if (!row.childNodes.length && !d.prototypes.length) card.appendChild(el('p', { class: 'help', text: 'No stored examples for this class.' }));
  card.appendChild(row);
  box.appendChild(card);
}

async function teach(event) {
  event.preventDefault();
  showError('teach-error', null);
  $('teach-result').textContent = 'Teaching…';
  try {
    const r = await api('/api/classes', { method: 'POST', body: new FormData($('teach-form')) });
    $('teach-result').textContent = `Learned “${r.name}” from ${r.images} images: ${r.classes_before} → ${r.classes_after} classes (model version ${r.model_version}).`;
    $('teach-form').reset();
    await loadModel();
  } catch (e) {
    $('teach-result').textContent = '';
    showError('teach-error', e);
  }
}

async function discover(event) {
  event.preventDefault();
  showError('discover-error', null);
  const box = $('clusters');
  box.textContent = 'Clustering…';
  const form = new FormData($('discover-form'));
  if (!$('discover-k').value) form.delete('k');
  try {
    const r = await api('/api/discover', { method: 'POST', body: form });
    box.textContent = '';
    box.appendChild(el('p', { text: `${r.images} images in ${r.clusters.length} clusters (k = ${r.k}, ${r.known_classes} known classes).` }));
    for (const c of r.clusters) box.appendChild(clusterCard(c));
  } catch (e) {
    box.textContent = '';
    showError('discover-error', e);
  }
}

function clusterCard(c) {
  const title = c.matches === 'new' ? `New cluster ${c.id} (${c.size} images)` : `Cluster ${c.id}: looks like ${c.matches} (${c.size} images)`;
  const card = el('article', { class: 'card cluster' }, [el('h3', { text: title })]);
  const row = el('div', { class: 'row' });
  for (const m of c.members.slice(0, 12)) row.appendChild(el('img', { class: 'thumb small', src: m.image_url, alt: `${m.name}, predicted ${m.predicted}` }));
  card.appendChild(row);
  const id = 'adopt-' + c.id;
  const form = el('form', { class: 'adopt' }, [
    el('label', { for: id, text: 'Name this cluster as a new class' }),
    el('input', { id, name: 'name', type: 'text', required: 'required', maxlength: '64', autocomplete: 'off' }),
    el('button', { type: 'submit', text: 'Adopt' }),
  ]);
  const status = el('p', { role: 'status' });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const r = await api(`/api/clusters/${encodeURIComponent(c.id)}/adopt`, { method: 'POST', body: new FormData(form) });
      status.textContent = `Adopted as “${r.name}”: ${r.classes_after} classes.`;
      form.hidden = true;
      await loadModel();
    } catch (e) { status.textContent = e.message; status.className = 'error'; }
  });
  if (c.adopted) { status.textContent = `Adopted as “${c.adopted_as}”.`; form.hidden = true; }
  card.appendChild(form);
  card.appendChild(status);
  return card;
}

function init() {
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => showView(b.dataset.view));
  $('predict-form').addEventListener('submit', (e) => { e.preventDefault(); const f = [...$('predict-files').files]; if (f.length) predict(f); else showError('predict-error', new Error('Choose at least one image.')); });
  $('predict-files').addEventListener('change', () => { const f = [...$('predict-files').files]; if (f.length) predict(f); });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); const f = [...e.dataTransfer.files]; if (f.length) predict(f); });
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('predict-files').click(); } });
  drop.addEventListener('click', () => $('predict-files').click());
  $('heat-toggle').addEventListener('change', () => {
    const on = $('heat-toggle').checked;
    for (const c of document.querySelectorAll('canvas.heat')) c.hidden = !on;
    for (const f of document.querySelectorAll('figure.saliency-map')) showHeat(f, on);
  });
  $('teach-form').addEventListener('submit', teach);
  $('discover-form').addEventListener('submit', discover);
  loadModel().catch((e) => { $('model-line').textContent = 'The model could not be read: ' + e.message; });
}
document.addEventListener('DOMContentLoaded', init);

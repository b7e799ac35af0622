// Rubric Studio front end. No framework, no build step. Every piece of record text is inserted with
// textContent or an input's value, never as HTML: instructions, notes, answers and rubrics are data.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const FIELDS = ["brainstormed_rubric", "rubric"];
const S = {
  meta: null,
  list: [],
  etag: null,
  current: null, // index of the open record
  field: "rubric",
  recs: new Map(), // index -> record state
  order: [], // indices shown in the sidebar (filtered)
  saving: false, // a save is in flight (the file changes under the poll)
  saves: 0, // saves started, so a poll answer overtaken by a save is ignored
};

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "value") node.value = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const fmt = (w) => (Math.round(Number(w) * 100) / 100).toString();

async function api(path, body) {
  const init = { headers: { "X-Studio-Token": TOKEN } };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data;
  try {
    data = await response.json();
  } catch (e) {
    data = { error: `HTTP ${response.status}` };
  }
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function banner(text, kind) {
  const b = $("banner");
  b.textContent = text;
  b.className = kind || "info";
  b.hidden = !text;
}

// ---- record state -------------------------------------------------------------------------------
function makeRec(payload) {
  return {
    payload,
    values: clone(payload.values),
    draftIds: {},
    accepted: { brainstormed_rubric: [], rubric: [] },
    diff: {},
    check: {},
    suggestions: [],
    attempts: {},
    pilotAnswers: [],
    pilotResults: null,
    staleOnDisk: false,
  };
}
function dirtyFields(rec) {
  return Object.keys(rec.values).filter((f) => !same(rec.values[f], rec.payload.values[f]));
}
function dirtyRecs() {
  return [...S.recs.entries()].filter(([, rec]) => dirtyFields(rec).length > 0);
}
function cur() {
  return S.current === null ? null : S.recs.get(S.current);
}

async function loadRecord(index, force) {
  if (!force && S.recs.has(index)) return S.recs.get(index);
  const payload = await api(`/api/records/${index}`);
  const old = S.recs.get(index);
  const rec = makeRec(payload);
  if (old) {
    rec.pilotAnswers = old.pilotAnswers;
    rec.suggestions = old.suggestions;
  }
  S.recs.set(index, rec);
  return rec;
}

// ---- sidebar -------------------------------------------------------------------------------------
function statusOf(summary) {
  const rec = S.recs.get(summary.index);
  if (rec && rec.values.review) return rec.values.review.status;
  return summary.status;
}

const MAX_LISTED = 400; // list items in the DOM at once; the filters narrow a large file down

function listItem(s) {
  const st = statusOf(s);
  const rec = S.recs.get(s.index);
  const dirty = rec && dirtyFields(rec).length > 0;
  return el(
    "li",
    {
      class: `rec ${s.index === S.current ? "current" : ""}`,
      tabindex: 0,
      dataset: { index: s.index },
      onclick: () => openRecord(s.index),
      onkeydown: (e) => {
        if (e.key === "Enter") openRecord(s.index);
      },
    },
    el("span", { class: `badge status-${st.replace(" ", "-")}` }, st),
    dirty ? el("span", { class: "dirty", title: "unsaved edits" }, "●") : null,
    el("strong", {}, s.id !== null ? s.id : `#${s.index}`),
    s.category ? el("span", { class: "muted" }, ` · ${s.category}`) : null,
    el("div", { class: "title" }, s.title),
  );
}

function renderList() {
  const status = $("filter-status").value;
  const category = $("filter-category").value;
  const text = $("filter-text").value.trim().toLowerCase();
  S.order = S.list
    .filter((s) => (!status || statusOf(s) === status) && (!category || s.category === category))
    .filter((s) => !text || `${s.id || ""} ${s.title}`.toLowerCase().includes(text))
    .map((s) => s.index);
  const shown = S.order.slice(0, MAX_LISTED);
  if (S.current !== null && S.order.includes(S.current) && !shown.includes(S.current)) shown.push(S.current);
  const byIndex = new Map(S.list.map((s) => [s.index, s]));
  const items = shown.map((i) => listItem(byIndex.get(i)));
  if (S.order.length > shown.length) {
    items.push(el("li", { class: "muted more" }, `… ${S.order.length - shown.length} more: narrow the filters to see them`));
  }
  $("record-list").replaceChildren(...items);
  renderProgress();
}

function updateListItem(index) {
  const old = $("record-list").querySelector(`li[data-index="${index}"]`);
  const summary = S.list.find((s) => s.index === index);
  if (old && summary) old.replaceWith(listItem(summary));
  renderProgress();
}

function renderProgress() {
  const counts = { draft: 0, "in review": 0, approved: 0 };
  for (const s of S.list) counts[statusOf(s)] += 1;
  const n = S.list.length;
  $("progress-bar").max = Math.max(n, 1);
  $("progress-bar").value = counts.approved;
  $("progress-text").textContent =
    `${counts.approved} of ${n} approved · ${counts["in review"]} in review · ${counts.draft} draft`;
  const dirty = dirtyRecs().length;
  $("dirty-count").textContent = dirty ? `${dirty} instruction(s) with unsaved edits` : "all saved";
}

async function refreshList() {
  const data = await api("/api/records");
  S.list = data.records;
  S.etag = data.etag;
  const categories = [...new Set(S.list.map((s) => s.category).filter((c) => c !== null))].sort();
  const select = $("filter-category");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "all"), ...categories.map((c) => el("option", { value: c }, c)));
  select.value = categories.includes(chosen) ? chosen : "";
  renderList();
}

// ---- the open record -----------------------------------------------------------------------------
async function openRecord(index) {
  try {
    await loadRecord(index);
  } catch (e) {
    banner(`Could not open record ${index}: ${e.message}`, "error");
    return;
  }
  S.current = index;
  const rec = cur();
  if (rec.values[S.field] === null || rec.values[S.field] === undefined) {
    S.field = rec.values.rubric !== null ? "rubric" : "brainstormed_rubric";
  }
  renderRecord();
  renderList();
  scheduleCheck();
}

function renderRecord() {
  const rec = cur();
  if (!rec) return;
  const d = rec.payload.display;
  $("empty").hidden = true;
  $("record").hidden = false;
  $("record-title").textContent = `${d.id !== null ? d.id : "#" + rec.payload.index}${d.category ? " · " + d.category : ""}`;
  $("instruction").textContent = d.instruction || "";
  $("notes").textContent = d.useful_info_to_eval_instruction || "(no expert notes)";
  $("reference").textContent = rec.values.excellent_response || "(no reference answer)";
  const review = rec.values.review || { status: "draft" };
  $("status").value = review.status;
  const saved = rec.payload.values.review;
  $("review-info").textContent = saved && saved.reviewer ? `last set by ${saved.reviewer} on ${saved.date}` : "";
  for (const f of FIELDS) {
    const tab = $(`tab-${f}`);
    tab.setAttribute("aria-selected", String(f === S.field));
    tab.classList.toggle("active", f === S.field);
    const present = rec.values[f] !== null && rec.values[f] !== undefined;
    tab.textContent = (f === "rubric" ? "Rubric" : "Brainstorm") + (present ? "" : " (none)");
  }
  const draft = rec.payload.drafts[S.field] || {};
  $("source-info").textContent = draft.source
    ? `written by: ${draft.source}${draft.config ? ` · LLM draft by ${draft.config}` : ""}${draft.date ? ` on ${draft.date}` : ""}`
    : "";
  if (S.field === "rubric" && rec.payload.stale_rubric) {
    $("source-info").textContent += " · the brainstorm changed after the LLM drafted this rubric from it";
  }
  renderGrid();
  renderSuggestions();
  renderPilot();
  renderHistory();
}

function renderHistory() {
  const rec = cur();
  const list = $("history");
  list.replaceChildren();
  const entries = (rec.payload.drafts[S.field] || {}).history || [];
  for (const h of entries.slice().reverse()) {
    list.append(
      el(
        "li",
        {},
        el("strong", {}, `${h.date} · ${h.by}`),
        ` → ${h.source}`,
        el("ul", {}, (h.changes || []).map((c) => el("li", {}, c))),
        (h.llm_suggestions || []).length ? el("div", { class: "muted" }, `accepted LLM suggestions: ${h.llm_suggestions.join("; ")}`) : null,
      ),
    );
  }
  if (!entries.length) list.append(el("li", { class: "muted" }, "no saves from the Studio yet"));
}

// ---- the grid --------------------------------------------------------------------------------------
function levelsOf(rows) {
  return rows.length ? Object.keys(rows[0].performance_to_description) : (S.meta.levels || ["excellent", "good", "fair", "poor"]);
}

function changed() {
  const rec = cur();
  updateListItem(S.current);
  scheduleCheck();
  $("weight-sum").textContent = fmt(weightSum(rec.values[S.field] || []));
}

function weightSum(rows) {
  return rows.reduce((total, r) => total + (Number(r.weight) || 0), 0);
}

function cellInput(kind, value, attrs, oninput) {
  const input =
    kind === "textarea"
      ? el("textarea", { rows: 3, ...attrs })
      : el("input", { type: kind === "number" ? "number" : "text", step: kind === "number" ? "any" : null, ...attrs });
  input.value = value ?? "";
  input.addEventListener("input", () => oninput(input.value));
  return input;
}

function renderGrid() {
  const rec = cur();
  const field = S.field;
  const rows = rec.values[field];
  const thead = $("grid").tHead;
  const tbody = $("grid").tBodies[0];
  thead.replaceChildren();
  tbody.replaceChildren();
  $("invalid").hidden = !rec.payload.invalid[field];
  $("invalid").textContent = rec.payload.invalid[field] ? `This field does not validate: ${rec.payload.invalid[field]}` : "";
  const present = Array.isArray(rows);
  $("grid-wrap").hidden = !present;
  $("no-field").hidden = present;
  if (!present) {
    const canDraft = field === "rubric" && Array.isArray(rec.values.brainstormed_rubric);
    $("no-field-text").textContent =
      field === "rubric"
        ? canDraft
          ? "No rubric yet. Approve and save the brainstorm, then let the LLM draft the rubric from it."
          : "No rubric and no brainstorm in this record."
        : "No brainstormed rubric in this record.";
    $("draft-rubric").hidden = !canDraft;
    const approved = rec.payload.values.review && rec.payload.values.review.status === "approved";
    $("draft-rubric").disabled = !approved || dirtyFields(rec).includes("brainstormed_rubric");
    return;
  }
  const isRubric = field === "rubric";
  const levels = isRubric ? levelsOf(rows) : [];
  const head = el("tr", {}, el("th", {}, ""), el("th", {}, "Criterion"), el("th", {}, "Weight"));
  if (isRubric) {
    levels.forEach((level, j) => {
      const input = cellInput("text", level, { class: "level-name", "aria-label": `level ${j + 1} name`, dataset: { row: -1, col: 2 + j } }, (v) => renameLevel(j, v));
      head.append(el("th", {}, input));
    });
  } else {
    head.append(el("th", {}, "Checklist (one item per line)"));
  }
  head.append(el("th", {}, ""));
  thead.append(head);
  rows.forEach((row, i) => {
    const tr = el("tr", { dataset: { criterion: row.criterion } });
    tr.append(
      el(
        "td",
        { class: "move" },
        el("button", { type: "button", title: "move up", "aria-label": "move up", disabled: i === 0, onclick: () => moveRow(i, -1) }, "↑"),
        el("button", { type: "button", title: "move down", "aria-label": "move down", disabled: i === rows.length - 1, onclick: () => moveRow(i, 1) }, "↓"),
      ),
    );
    const name = cellInput("text", row.criterion, { class: "name", "aria-label": "criterion name", dataset: { row: i, col: 0 } }, (v) => {
      row.criterion = v;
      tr.dataset.criterion = v;
      changed();
    });
    tr.append(el("td", { class: "cell", dataset: { cell: "name" } }, name, el("div", { class: "marker" })));
    const weight = cellInput("number", row.weight, { class: "weight", "aria-label": "weight", dataset: { row: i, col: 1 } }, (v) => {
      row.weight = v === "" ? 0 : Number(v);
      changed();
    });
    tr.append(el("td", { class: "cell", dataset: { cell: "weight" } }, weight, el("div", { class: "marker" })));
    if (isRubric) {
      levels.forEach((level, j) => {
        const area = cellInput("textarea", row.performance_to_description[level], { "aria-label": `${row.criterion}: ${level}`, dataset: { row: i, col: 2 + j } }, (v) => {
          row.performance_to_description[level] = v;
          changed();
        });
        const ask = el("button", { type: "button", class: "ask", title: "Ask the LLM for this cell", onclick: () => suggest(row.criterion, level) }, "✦ suggest");
        tr.append(el("td", { class: "cell", dataset: { cell: `level:${level}` } }, area, ask, el("div", { class: "marker" })));
      });
    } else {
      const area = cellInput("textarea", (row.checklist || []).join("\n"), { "aria-label": `${row.criterion}: checklist`, rows: 4, dataset: { row: i, col: 2 } }, (v) => {
        row.checklist = v.split("\n").map((x) => x.trim()).filter((x) => x);
        changed();
      });
      tr.append(el("td", { class: "cell", dataset: { cell: "checklist" } }, area, el("div", { class: "marker" })));
    }
    tr.append(
      el(
        "td",
        { class: "actions" },
        isRubric
          ? el("button", { type: "button", class: "ask-row", title: "Ask the LLM to rewrite this criterion", onclick: () => suggest(row.criterion, null) }, "✦ suggest row")
          : el("button", { type: "button", class: "ask-row", title: "Ask the LLM for this criterion's checklist", onclick: () => suggest(row.criterion, null) }, "✦ suggest checklist"),
        el("button", { type: "button", class: "remove", title: "remove this criterion", onclick: () => removeRow(i) }, "✕ remove"),
      ),
    );
    tbody.append(tr);
  });
  $("weight-sum").textContent = fmt(weightSum(rows));
  $("revert-all").disabled = !rec.payload.drafts[field] || !rec.payload.drafts[field].llm_draft;
  renderMarkers();
}

function renameLevel(j, name) {
  const rows = cur().values.rubric;
  const levels = levelsOf(rows);
  const input = $("grid").tHead.querySelectorAll("input.level-name")[j];
  // A blank or repeated level name would merge two columns of every row: keep the old name until it is valid.
  const bad = !name.trim() || levels.some((level, k) => k !== j && level === name);
  input.classList.toggle("invalid", bad);
  input.title = bad ? "level names must be non-blank and distinct" : "";
  if (bad) return;
  for (const row of rows) {
    const entries = Object.entries(row.performance_to_description);
    entries[j][0] = name;
    row.performance_to_description = Object.fromEntries(entries);
  }
  changed();
}

function moveRow(i, delta) {
  const rows = cur().values[S.field];
  const [row] = rows.splice(i, 1);
  rows.splice(i + delta, 0, row);
  renderGrid();
  changed();
  focusCell(i + delta, 0);
}

function removeRow(i) {
  cur().values[S.field].splice(i, 1);
  renderGrid();
  changed();
}

function uniqueName(rows) {
  let n = rows.length + 1;
  while (rows.some((r) => r.criterion === `New criterion ${n}`)) n += 1;
  return `New criterion ${n}`;
}

function addRow() {
  const rows = cur().values[S.field];
  const row = { criterion: uniqueName(rows), weight: 0 };
  if (S.field === "rubric") row.performance_to_description = Object.fromEntries(levelsOf(rows).map((l) => [l, ""]));
  else row.checklist = [];
  rows.push(row);
  renderGrid();
  changed();
  focusCell(rows.length - 1, 0);
}

function normalise() {
  const rows = cur().values[S.field];
  const total = weightSum(rows);
  if (total <= 0) {
    banner("Cannot normalise: the weights sum to 0.", "error");
    return;
  }
  for (const row of rows) row.weight = Math.round((Number(row.weight) * 10000) / total) / 100;
  renderGrid();
  changed();
}

function draftRows(rec, field) {
  const d = rec.pendingDraft && field === "rubric" ? rec.pendingDraft : rec.payload.drafts[field] && rec.payload.drafts[field].llm_draft;
  return Array.isArray(d) ? d : null;
}

function revertAll() {
  const rec = cur();
  const d = draftRows(rec, S.field);
  if (!d) return;
  rec.values[S.field] = clone(d);
  renderGrid();
  changed();
}

// ---- live check and the inline diff -------------------------------------------------------------------
let checkTimer = null;
function scheduleCheck() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(runCheck, 250);
}

async function runCheck() {
  const rec = cur();
  if (!rec) return;
  const field = S.field;
  const value = rec.values[field];
  const messages = $("check-messages");
  if (!Array.isArray(value)) {
    messages.replaceChildren();
    return;
  }
  const levels = field === "rubric" ? levelsOf(value) : [];
  const local = [];
  if (field === "rubric" && S.meta.levels && !same(levels, S.meta.levels)) {
    local.push(`Level names ${JSON.stringify(levels)} differ from the file's ${JSON.stringify(S.meta.levels)}.`);
  }
  let result;
  try {
    result = await api("/api/check", { index: rec.payload.index, field, value, draft_id: rec.draftIds[field] || null });
  } catch (e) {
    result = { ok: false, problem: e.message };
  }
  if (cur() !== rec || S.field !== field) return;
  rec.check[field] = result;
  rec.diff[field] = result.ok ? result.diff : rec.diff[field];
  messages.replaceChildren(
    ...(result.ok ? [] : [el("li", { class: "error" }, `Not valid yet: ${result.problem}`)]),
    ...[...local, ...(result.warnings || []).filter((w) => !w.startsWith("level names"))].map((w) => el("li", { class: "warning" }, w)),
  );
  renderMarkers();
}

function marker(td, label, oldText, onRevert) {
  const box = td.querySelector(".marker");
  td.classList.add("edited");
  box.replaceChildren(
    el("span", { class: "draft-label" }, label),
    el("del", { class: "draft-text" }, oldText),
    onRevert ? el("button", { type: "button", class: "revert", title: "revert to the LLM draft", onclick: onRevert }, "↺ revert") : null,
  );
}

function renderMarkers() {
  const rec = cur();
  const field = S.field;
  const rows = rec.values[field];
  const tbody = $("grid").tBodies[0];
  for (const td of tbody.querySelectorAll("td.cell")) {
    td.classList.remove("edited");
    td.querySelector(".marker").replaceChildren();
  }
  for (const tr of tbody.rows) tr.classList.remove("added");
  const removed = $("removed");
  removed.replaceChildren();
  const diff = rec.diff[field];
  const draft = draftRows(rec, field);
  if (!diff || !Array.isArray(rows)) return;
  if (diff.status === "no_draft") {
    removed.append(el("p", { class: "muted" }, "No LLM draft is stored for this field: there is nothing to compare with."));
    return;
  }
  const draftRow = (name) => (draft || []).find((r) => r.criterion === name);
  rows.forEach((row, i) => {
    const tr = tbody.rows[i];
    if (!tr) return;
    const change = diff.changes.find((c) => c.criterion === row.criterion && c.kind !== "removed");
    if (!change) return;
    if (change.kind === "added") {
      tr.classList.add("added");
      const td = tr.querySelector('td[data-cell="name"]');
      td.classList.add("edited");
      td.querySelector(".marker").replaceChildren(el("span", { class: "draft-label" }, "new criterion (not in the LLM draft)"));
      return;
    }
    const original = draftRow(change.old_name || change.criterion);
    if (change.kind === "renamed") {
      marker(tr.querySelector('td[data-cell="name"]'), "draft: ", change.old_name, () => {
        row.criterion = change.old_name;
        renderGrid();
        changed();
      });
    }
    if (change.old_weight !== null && change.new_weight !== null && Math.abs(change.old_weight - change.new_weight) > 1e-6) {
      marker(tr.querySelector('td[data-cell="weight"]'), "draft: ", fmt(change.old_weight), () => {
        row.weight = change.old_weight;
        renderGrid();
        changed();
      });
    }
    for (const [level, pair] of Object.entries(change.cells || {})) {
      const td = tr.querySelector(`td[data-cell="level:${CSS.escape(level)}"]`);
      if (!td) continue;
      const old = pair[0];
      marker(td, "draft: ", old === null ? "(absent)" : old, old === null ? null : () => {
        row.performance_to_description[level] = old;
        renderGrid();
        changed();
      });
    }
    if ((change.checklist_added || []).length || (change.checklist_removed || []).length) {
      const td = tr.querySelector('td[data-cell="checklist"]');
      const text = [...change.checklist_removed.map((x) => `− ${x}`), ...change.checklist_added.map((x) => `+ ${x}`)].join("\n");
      marker(td, "changed against the draft: ", text, original ? () => {
        row.checklist = clone(original.checklist);
        renderGrid();
        changed();
      } : null);
    }
  });
  const gone = diff.changes.filter((c) => c.kind === "removed");
  if (diff.levels_added.length || diff.levels_removed.length) {
    removed.append(el("p", { class: "warning" }, `Levels changed against the draft: added ${JSON.stringify(diff.levels_added)}, removed ${JSON.stringify(diff.levels_removed)}`));
  }
  if (diff.order_changed) removed.append(el("p", { class: "muted" }, "Criteria reordered against the LLM draft."));
  for (const c of gone) {
    const original = draftRow(c.criterion);
    removed.append(
      el(
        "p",
        { class: "removed-row" },
        "Removed from the LLM draft: ",
        el("del", {}, c.criterion),
        ` (weight ${fmt(c.old_weight)}) `,
        original ? el("button", { type: "button", class: "revert", onclick: () => {
          rows.push(clone(original));
          renderGrid();
          changed();
        } }, "↺ restore") : null,
      ),
    );
  }
}

// ---- keyboard navigation ---------------------------------------------------------------------------
function focusCell(row, col) {
  const target = $("grid").querySelector(`[data-row="${row}"][data-col="${col}"]`);
  if (target) target.focus();
  return Boolean(target);
}

function onKey(e) {
  const t = e.target;
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
    e.preventDefault();
    save();
    return;
  }
  if (e.altKey && (e.key === "PageDown" || e.key === "PageUp")) {
    e.preventDefault();
    step(e.key === "PageDown" ? 1 : -1);
    return;
  }
  if (e.altKey && ["1", "2", "3"].includes(e.key) && S.current !== null) {
    e.preventDefault();
    setStatus(S.meta.statuses[Number(e.key) - 1]);
    return;
  }
  if (e.altKey && t.dataset && t.dataset.row !== undefined && e.key.startsWith("Arrow")) {
    e.preventDefault();
    const row = Number(t.dataset.row);
    const col = Number(t.dataset.col);
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const [dr, dc] = moves[e.key];
    focusCell(row + dr, col + dc);
  }
}

function step(delta) {
  if (!S.order.length) return;
  const at = S.order.indexOf(S.current);
  const next = S.order[Math.min(Math.max(at + delta, 0), S.order.length - 1)];
  if (next !== undefined && next !== S.current) openRecord(next);
}

function setStatus(status) {
  const rec = cur();
  if (!rec) return;
  const base = rec.payload.values.review;
  rec.values.review = (base ? base.status : "draft") === status ? clone(base) : { ...clone(base || {}), status };
  $("status").value = status;
  updateListItem(S.current);
}

// ---- saving and conflicts ------------------------------------------------------------------------------
function reviewer() {
  return $("reviewer").value.trim();
}

async function save() {
  const name = reviewer();
  if (!name) {
    banner("Enter your name as reviewer before saving: every save records who changed what.", "error");
    $("reviewer").focus();
    return;
  }
  const edits = dirtyRecs().map(([index, rec]) => ({
    index,
    key: rec.payload.key,
    fields: dirtyFields(rec).map((field) => ({
      field,
      base: rec.payload.base[field],
      value: rec.values[field],
      draft_id: rec.draftIds[field] || null,
      suggestions: rec.accepted[field] || [],
    })),
  }));
  if (!edits.length) {
    banner("Nothing to save.", "info");
    return;
  }
  let result;
  S.saving = true;
  S.saves += 1;
  try {
    result = await api("/api/save", { reviewer: name, edits });
  } catch (e) {
    S.saving = false;
    banner(`Save failed: ${e.message}. Your edits are kept in this page.`, "error");
    return;
  }
  for (const [i, payload] of Object.entries(result.records)) {
    const index = Number(i);
    const old = S.recs.get(index);
    const rec = makeRec(payload);
    if (old) {
      rec.pilotAnswers = old.pilotAnswers;
      rec.pilotResults = old.pilotResults;
    }
    S.recs.set(index, rec);
  }
  renderConflicts(result.conflicts);
  const problems = result.problems.map((p) => `record ${p.index}${p.field ? ` field ${p.field}` : ""}: ${p.message}`);
  if (problems.length) banner(`Not saved: ${problems.join("; ")}`, "error");
  else if (result.conflicts.length) banner(`Saved ${result.saved.length} instruction(s); ${result.conflicts.length} conflict(s) to resolve below.`, "warning");
  else banner(`Saved ${result.saved.length} instruction(s).`, "ok");
  try {
    await refreshList();
  } finally {
    S.saving = false;
  }
  if (S.current !== null) {
    renderRecord();
    scheduleCheck();
  }
}

function summarise(field, value) {
  if (value === null || value === undefined) return "(absent)";
  if (field === "review") return `status: ${value.status}${value.reviewer ? `, by ${value.reviewer}` : ""}`;
  if (typeof value === "string") return value;
  const rows = Array.isArray(value) ? value : Object.entries(value).map(([criterion, cells]) => ({ criterion, performance_to_description: cells }));
  return rows
    .map((r) => {
      const cells = r.performance_to_description ? Object.entries(r.performance_to_description).map(([l, t]) => `    ${l}: ${t}`) : (r.checklist || []).map((x) => `    - ${x}`);
      return [`${r.criterion}${r.weight !== undefined ? ` (weight ${fmt(r.weight)})` : ""}`, ...cells].join("\n");
    })
    .join("\n");
}

function renderConflicts(conflicts) {
  const list = $("conflict-list");
  list.replaceChildren();
  $("conflicts").hidden = !conflicts.length;
  for (const c of conflicts) {
    const summary = S.list.find((s) => s.index === c.index);
    const label = summary && summary.id !== null ? summary.id : `#${c.index}`;
    const item = el(
      "li",
      { class: "conflict", dataset: { index: c.index, field: c.field } },
      el("h3", {}, `${label}: ${c.field}`),
      el("p", {}, c.message),
      el("div", { class: "versions" },
        el("div", {}, el("h4", {}, "In the file now"), el("pre", { class: "theirs" }, summarise(c.field, c.theirs))),
        el("div", {}, el("h4", {}, "Yours (unsaved)"), el("pre", { class: "yours" }, summarise(c.field, c.yours))),
      ),
      el("button", { type: "button", class: "keep-mine", onclick: () => keepMine(c) }, "Keep mine (overwrite the file's version)"),
      el("button", { type: "button", class: "take-theirs", onclick: () => takeTheirs(c) }, "Take theirs (discard my edit of this field)"),
      el("button", { type: "button", onclick: () => openRecord(c.index) }, "Open to merge by hand"),
    );
    list.append(item);
  }
}

async function keepMine(c) {
  const rec = S.recs.get(c.index);
  rec.payload.base[c.field] = c.theirs_base;
  await save();
}

async function takeTheirs(c) {
  const rec = S.recs.get(c.index);
  const fresh = await api(`/api/records/${c.index}`);
  rec.payload.base[c.field] = fresh.base[c.field];
  rec.payload.values[c.field] = clone(fresh.values[c.field]);
  rec.payload.drafts = fresh.drafts;
  rec.values[c.field] = clone(fresh.values[c.field]);
  delete rec.draftIds[c.field];
  const remaining = [...$("conflict-list").children].filter((li) => !(Number(li.dataset.index) === c.index && li.dataset.field === c.field));
  $("conflict-list").replaceChildren(...remaining);
  $("conflicts").hidden = !remaining.length;
  renderList();
  if (S.current === c.index) {
    renderRecord();
    scheduleCheck();
  }
}

// ---- the LLM: suggestions and drafts --------------------------------------------------------------------
async function suggest(criterion, level, field) {
  const rec = cur();
  field = field || S.field;
  const key = `${field}|${criterion}|${level}`;
  const attempt = rec.attempts[key] || 0;
  rec.attempts[key] = attempt + 1;
  const pending = { id: `pending-${Date.now()}`, field, criterion, level, pending: true };
  rec.suggestions.unshift(pending);
  renderSuggestions();
  try {
    const s = await api("/api/suggest", { index: rec.payload.index, field, value: rec.values[field], criterion, level, guidance: $("guidance").value, attempt });
    Object.assign(pending, s, { pending: false });
  } catch (e) {
    Object.assign(pending, { pending: false, error: e.message });
  }
  renderSuggestions();
  showSuggestions(rec);
}

async function draftRubric() {
  const rec = cur();
  const pending = { id: `pending-${Date.now()}`, field: "rubric", criterion: null, level: null, pending: true, full: true };
  rec.suggestions.unshift(pending);
  renderSuggestions();
  try {
    const d = await api("/api/draft_rubric", { index: rec.payload.index, key: rec.payload.key });
    Object.assign(pending, d, { pending: false });
  } catch (e) {
    Object.assign(pending, { pending: false, error: e.message });
  }
  renderSuggestions();
  showSuggestions(rec);
}

function showSuggestions(rec) {
  // The answer may arrive after the expert moved on: only bring it into view on the same instruction.
  if (cur() === rec) $("suggestions").scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function accept(s) {
  const rec = cur();
  if (s.full) {
    rec.values.rubric = clone(s.rubric);
    rec.pendingDraft = clone(s.rubric);
    rec.draftIds.rubric = s.draft_id;
    if (!rec.values.excellent_response && s.excellent_response) rec.values.excellent_response = s.excellent_response;
    rec.values.review = { ...(rec.values.review || {}), status: "in review" };
    S.field = "rubric";
  } else {
    const row = (rec.values[s.field] || []).find((r) => r.criterion === s.criterion);
    if (!row) {
      banner(`Criterion "${s.criterion}" is no longer in the table.`, "error");
      return;
    }
    if (s.field === "brainstormed_rubric") row.checklist = clone(s.row.checklist);
    else if (s.level !== null) row.performance_to_description[s.level] = s.text;
    else row.performance_to_description = clone(s.row.performance_to_description);
    const what = s.field === "brainstormed_rubric" ? " / checklist" : s.level !== null ? ` / ${s.level}` : "";
    rec.accepted[s.field].push(`${s.criterion}${what} (${s.config})`);
    S.field = s.field;
  }
  rec.suggestions = rec.suggestions.filter((x) => x !== s);
  renderRecord();
  changed();
}

function reject(s) {
  const rec = cur();
  rec.suggestions = rec.suggestions.filter((x) => x !== s);
  renderSuggestions();
}

function renderSuggestions() {
  const rec = cur();
  const list = $("suggestion-list");
  list.replaceChildren();
  if (!rec.suggestions.length) list.append(el("li", { class: "muted" }, "Use ✦ suggest on a row or a cell of the table."));
  for (const s of rec.suggestions) {
    const part = s.field === "brainstormed_rubric" ? " (brainstorm checklist)" : s.level !== null ? ` / ${s.level}` : " (whole criterion)";
    const title = s.full ? "Full rubric from the brainstorm" : `${s.criterion}${part}`;
    const body = s.pending
      ? el("p", { class: "muted" }, "asking the LLM…")
      : s.error
        ? el("p", { class: "error" }, s.error)
        : el("pre", { class: "suggested" }, s.full ? summarise("rubric", s.rubric) : s.level !== null ? s.text : summarise(s.field, [s.row]));
    list.append(
      el(
        "li",
        { class: "suggestion" },
        el("strong", {}, title),
        s.config ? el("span", { class: "muted" }, ` · ${s.config}${s.cached ? " · from the cache" : ""}`) : null,
        body,
        !s.pending && !s.error ? el("button", { type: "button", class: "accept", onclick: () => accept(s) }, "Accept") : null,
        !s.pending ? el("button", { type: "button", class: "reject", onclick: () => reject(s) }, s.error ? "Dismiss" : "Reject") : null,
        s.row && s.row.llm_criterion && s.row.llm_criterion !== s.criterion ? el("p", { class: "muted" }, `(the LLM called this criterion "${s.row.llm_criterion}")`) : null,
        !s.pending && !s.full ? el("button", { type: "button", onclick: () => { reject(s); suggest(s.criterion, s.level, s.field); } }, "Another suggestion") : null,
      ),
    );
  }
}

// ---- pilot grading --------------------------------------------------------------------------------------
function renderPilot() {
  const rec = cur();
  const box = $("pilot-answers");
  box.replaceChildren();
  rec.pilotAnswers.forEach((text, i) => {
    const area = el("textarea", { rows: 4, class: "pilot-answer", "aria-label": `answer ${i + 1}` });
    area.value = text;
    area.addEventListener("input", () => {
      rec.pilotAnswers[i] = area.value;
    });
    box.append(el("div", { class: "pilot-row" }, el("label", {}, `Answer ${i + 1}`), area, el("button", { type: "button", onclick: () => { rec.pilotAnswers.splice(i, 1); renderPilot(); } }, "✕")));
  });
  $("use-output").hidden = !rec.payload.display.output;
  $("use-reference").hidden = !rec.values.excellent_response;
  $("run-pilot").disabled = !rec.pilotAnswers.length || !Array.isArray(rec.values.rubric);
  renderPilotResults();
}

function renderPilotResults() {
  const rec = cur();
  const box = $("pilot-results");
  box.replaceChildren();
  if (!rec.pilotResults) return;
  if (rec.pilotResults.error) {
    box.append(el("p", { class: "error" }, rec.pilotResults.error));
    return;
  }
  for (const r of rec.pilotResults.results) {
    const scored = r.grades.filter((g) => g.status === "scored").length;
    box.append(
      el(
        "div",
        { class: "pilot-result" },
        el("h4", {}, `Answer ${r.answer_index + 1}: score ${r.score === null ? "unscored" : fmt(r.score)} (${scored} of ${r.grades.length} criteria scored)`),
        r.error ? el("p", { class: "error" }, r.error) : null,
        el(
          "table",
          { class: "grades" },
          el("tr", {}, el("th", {}, "Criterion"), el("th", {}, "Level"), el("th", {}, "Feedback")),
          r.grades.map((g) =>
            el(
              "tr",
              {},
              el("td", {}, g.criterion),
              el("td", { class: `level ${g.status}` }, g.status === "scored" ? g.level : `unscored: ${g.reason || ""}`),
              el("td", { class: "feedback" }, g.feedback),
            ),
          ),
        ),
      ),
    );
  }
}

async function runPilot() {
  const rec = cur();
  const answers = rec.pilotAnswers.filter((a) => a.trim());
  if (!answers.length) return;
  $("run-pilot").disabled = true;
  $("pilot-results").replaceChildren(el("p", { class: "muted" }, "grading…"));
  try {
    rec.pilotResults = await api("/api/pilot", { index: rec.payload.index, rubric: rec.values.rubric, answers });
  } catch (e) {
    rec.pilotResults = { error: `Pilot grading failed: ${e.message}` };
  }
  $("run-pilot").disabled = false;
  if (cur() === rec) renderPilotResults();
}

// ---- watching the file ------------------------------------------------------------------------------------
async function poll() {
  // A save in flight changes the file too: skip this round, and ignore an answer that a save overtook.
  if (S.saving) return;
  const generation = S.saves;
  try {
    const meta = await api("/api/meta");
    if (S.saving || S.saves !== generation) return;
    if (S.etag && meta.etag !== S.etag) {
      const stale = [];
      for (const [index, rec] of S.recs) {
        if (dirtyFields(rec).length) {
          rec.staleOnDisk = true;
          stale.push(index);
        } else {
          await loadRecord(index, true);
        }
      }
      await refreshList();
      if (S.current !== null && !stale.includes(S.current)) renderRecord();
      banner(
        stale.length
          ? "The file changed on disk (another tab or a command). Your unsaved edits are kept; saving checks them for conflicts."
          : "The file changed on disk; the view was reloaded.",
        "warning",
      );
    }
  } catch (e) {
    banner(`Lost contact with the Studio server: ${e.message}`, "error");
  }
}

// ---- start ---------------------------------------------------------------------------------------------------
async function start() {
  document.addEventListener("keydown", onKey);
  $("reviewer").value = localStorage.getItem("rubric-studio-reviewer") || "";
  $("reviewer").addEventListener("input", () => localStorage.setItem("rubric-studio-reviewer", reviewer()));
  $("save-button").addEventListener("click", save);
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));
  $("normalise").addEventListener("click", normalise);
  $("add-criterion").addEventListener("click", addRow);
  $("revert-all").addEventListener("click", revertAll);
  $("draft-rubric").addEventListener("click", draftRubric);
  $("status").addEventListener("change", () => setStatus($("status").value));
  $("add-answer").addEventListener("click", () => { cur().pilotAnswers.push(""); renderPilot(); });
  $("use-output").addEventListener("click", () => { cur().pilotAnswers.push(cur().payload.display.output); renderPilot(); });
  $("use-reference").addEventListener("click", () => { cur().pilotAnswers.push(cur().values.excellent_response); renderPilot(); });
  $("run-pilot").addEventListener("click", runPilot);
  $("help-button").addEventListener("click", () => $("help").showModal());
  $("help-close").addEventListener("click", () => $("help").close());
  for (const f of FIELDS) {
    $(`tab-${f}`).addEventListener("click", () => {
      S.field = f;
      renderRecord();
      scheduleCheck();
    });
  }
  for (const id of ["filter-status", "filter-category", "filter-text"]) $(id).addEventListener("input", renderList);
  window.addEventListener("beforeunload", (e) => {
    if (dirtyRecs().length) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
  try {
    S.meta = await api("/api/meta");
  } catch (e) {
    $("empty").textContent = `Cannot reach the Studio: ${e.message}`;
    return;
  }
  $("file-path").textContent = S.meta.path;
  $("generator-name").textContent = `(brainstormer: ${S.meta.brainstormer}; rubric generator: ${S.meta.rubric_generator})`;
  $("evaluator-name").textContent = `(judge: ${S.meta.evaluator})`;
  for (const st of S.meta.statuses) {
    $("filter-status").append(el("option", { value: st }, st));
    $("status").append(el("option", { value: st }, st));
  }
  await refreshList();
  $("empty").textContent = S.list.length ? "Select an instruction." : "This file has no records.";
  if (S.list.length) await openRecord(S.list[0].index);
  setInterval(poll, 3000);
}

document.addEventListener("DOMContentLoaded", start);

// The review page: signs in with an API key (kept in sessionStorage), walks the review queue,
// and saves accept / reject / correct through the JSON API. Text from posts is only ever set
// with textContent, never as HTML.
"use strict";

const KEY_STORAGE = "tandai.apiKey";
const QUEUE_PAGE = 50;
const DECISION_WORDS = { accept: "Diterima", correct: "Dikoreksi", reject: "Ditolak" };

const $ = (id) => document.getElementById(id);
const state = {
  key: sessionStorage.getItem(KEY_STORAGE),
  topics: [], areas: [], officials: [],
  topicName: new Map(), officialName: new Map(), kelurahanOf: new Map(),
  queue: [], total: 0, current: null, queueRequests: 0,
  tagsEdited: false, tags: [], busy: false,
};

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { "Accept": "application/json", ...(options.headers || {}) };
  if (state.key) headers["Authorization"] = `Bearer ${state.key}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  let payload = null;
  try { payload = await response.json(); } catch (_) { payload = null; }
  if (!response.ok) {
    const detail = payload && payload.detail ? payload.detail : response.statusText;
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return payload;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function percent(x) { return `${Math.round(x * 100)}%`; }

function setStatus(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

// -- sign in ---------------------------------------------------------------------------------

async function signIn(key) {
  state.key = key;
  try {
    const me = await api("/reviews/me");
    sessionStorage.setItem(KEY_STORAGE, key);
    $("who").textContent = `Masuk sebagai ${me.name} (${me.role})`;
    $("signout").hidden = false;
    $("signin").hidden = true;
    $("review").hidden = false;
    $("signin-error").textContent = "";
    await loadReference();
    await loadQueue();
  } catch (error) {
    state.key = null;
    sessionStorage.removeItem(KEY_STORAGE);
    $("signin").hidden = false;
    $("review").hidden = true;
    $("signin-error").textContent = error.status === 401
      ? "Kunci tidak dikenal atau sudah dicabut."
      : `Gagal masuk: ${error.message}`;
  }
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  $("who").textContent = "";
  $("signout").hidden = true;
  $("review").hidden = true;
  $("signin").hidden = false;
  $("key").value = "";
  $("key").focus();
}

// -- reference data --------------------------------------------------------------------------

async function loadReference() {
  if (state.topics.length) return;
  const [topics, areas, officials] = await Promise.all([
    api("/topics"), api("/areas"), api("/officials"),
  ]);
  state.topics = topics;
  state.areas = areas;
  state.officials = officials;
  for (const t of topics) state.topicName.set(t.code, t.name);
  for (const o of officials) state.officialName.set(o.official_id, o.name);
  for (const k of areas) for (const kel of k.kelurahan) state.kelurahanOf.set(kel.name, k.name);

  fillSelect($("f-topic"), [["", "Semua topik"], ...topics.map((t) => [t.code, t.name])]);
  fillSelect($("f-kecamatan"), [["", "Semua kecamatan"], ...areas.map((k) => [k.name, k.name])]);
  // a bookmark such as /review?kecamatan=Selebar opens that kecamatan's queue
  const wanted = new URLSearchParams(location.search);
  for (const name of ["topic", "kecamatan"]) {
    const select = $(`f-${name}`);
    const value = wanted.get(name) || "";
    select.value = Array.from(select.options).some((o) => o.value === value) ? value : "";
  }
  fillSelect($("c-topic"), topics.map((t) => [t.code, `${t.name} (${t.code})`]));
  fillSelect($("c-kecamatan"), [["", "— tidak ada —"], ...areas.map((k) => [k.name, k.name])]);
  fillSelect($("c-add-tag"), [["", "+ Tambah tag…"],
    ...officials.map((o) => [o.official_id, `${o.name} (${o.official_id})`])]);
}

function fillSelect(select, options) {
  select.replaceChildren(...options.map(([value, label]) => {
    const option = el("option", label);
    option.value = value;
    return option;
  }));
}

function fillKelurahan(kecamatan, selected) {
  const kec = state.areas.find((k) => k.name === kecamatan);
  const names = kec ? kec.kelurahan.map((k) => k.name) : [];
  fillSelect($("c-kelurahan"), [["", "— tidak ada —"], ...names.map((n) => [n, n])]);
  $("c-kelurahan").value = names.includes(selected) ? selected : "";
  $("c-kelurahan").disabled = !kec;
}

// -- the queue -------------------------------------------------------------------------------

function queueFilters() {
  const filters = new URLSearchParams();
  if ($("f-topic").value) filters.set("topic", $("f-topic").value);
  if ($("f-kecamatan").value) filters.set("kecamatan", $("f-kecamatan").value);
  return filters;
}

function filterWords() {
  const words = [];
  if ($("f-topic").value) words.push(`topik ${state.topicName.get($("f-topic").value)}`);
  if ($("f-kecamatan").value) words.push(`Kecamatan ${$("f-kecamatan").value}`);
  return words.length ? ` untuk ${words.join(", ")}` : "";
}

async function loadQueue() {
  const filters = queueFilters();
  const asked = ++state.queueRequests;
  const page = await api(`/reviews/queue?limit=${QUEUE_PAGE}&${filters}`);
  if (asked !== state.queueRequests) return;  // the filters changed while this one was out
  state.queue = page.items;
  state.total = page.total;
  showCurrent();
}

async function changeFilters(event) {
  event.target.blur();  // back to the page, where A, R and J act on the post shown
  const filters = queueFilters().toString();
  history.replaceState(null, "", filters ? `?${filters}` : location.pathname);
  try {
    await loadQueue();
    setStatus("");
  } catch (error) {
    setStatus(`Antrean tidak terbaca: ${error.message}`, true);
  }
}

function showCurrent() {
  const item = state.queue[0] || null;
  state.current = item;
  $("queue-info").textContent = item
    ? `${state.total} unggahan menunggu tinjauan${filterWords()} (yang paling perlu dilihat lebih dulu).`
    : "";
  $("post").hidden = !item;
  $("empty").hidden = !!item;
  $("empty").textContent = filterWords()
    ? `Antrean kosong${filterWords()}. Pilih "Semua" untuk melihat yang lain.`
    : "Antrean kosong. Semua unggahan sudah ditinjau — terima kasih!";
  if (!item) return;
  const p = item.prediction;

  const meta = [item.source || "sumber tidak diketahui"];
  if (item.author) meta.push(item.author);
  meta.push(new Date(item.posted_at || item.received_at).toLocaleString("id-ID"));
  $("post-meta").textContent = meta.join(" · ");
  renderText($("post-text"), item.text, item.evidence_spans);
  $("reasons").replaceChildren(...p.review_reasons.map((r) => el("li", r)));

  $("topic").textContent = `${state.topicName.get(p.topic.label) || p.topic.label} · ${percent(p.topic.confidence)}`;
  $("alternatives").textContent = p.topic.alternatives.length
    ? "Kemungkinan lain: " + p.topic.alternatives
      .map((a) => `${state.topicName.get(a.label) || a.label} ${percent(a.confidence)}`).join(", ")
    : "";
  $("area").textContent = describeArea(p.area);
  $("tags").replaceChildren(...(p.tags.length ? p.tags.map((t) => {
    const li = el("li", t.name);
    li.append(" ", el("span", `— ${t.reason}`, "reason"));
    return li;
  }) : [el("li", "Belum ada yang ditandai")]));

  $("c-topic").value = p.topic.label;
  $("c-kecamatan").value = p.area.kecamatan || "";
  fillKelurahan(p.area.kecamatan, p.area.kelurahan);
  $("c-note").value = "";
  state.tags = p.tags.map((t) => t.official_id);
  state.tagsEdited = false;
  renderTags();
  setBusy(false);
}

function describeArea(area) {
  if (!area.kecamatan) return "Tidak disebut";
  const where = area.kelurahan
    ? `Kel. ${area.kelurahan}, Kec. ${area.kecamatan}`
    : `Kec. ${area.kecamatan}`;
  return `${where} · ${percent(area.confidence)}`;
}

// Wrap the evidence spans (code point offsets from the server) in <mark>.
function renderText(node, text, spans) {
  const chars = Array.from(text);
  const parts = [];
  let at = 0;
  for (const [start, end] of spans || []) {
    if (start < at || end > chars.length || start >= end) continue;
    parts.push(document.createTextNode(chars.slice(at, start).join("")));
    parts.push(el("mark", chars.slice(start, end).join(""), "evidence"));
    at = end;
  }
  parts.push(document.createTextNode(chars.slice(at).join("")));
  node.replaceChildren(...parts);
}

function renderTags() {
  $("c-tags").replaceChildren(...state.tags.map((id) => {
    const li = el("li", state.officialName.get(id) || id);
    const remove = el("button", "×");
    remove.type = "button";
    remove.title = "Hapus tag";
    remove.setAttribute("aria-label", `Hapus tag ${state.officialName.get(id) || id}`);
    remove.addEventListener("click", () => {
      state.tags = state.tags.filter((t) => t !== id);
      state.tagsEdited = true;
      renderTags();
    });
    li.append(remove);
    return li;
  }));
  $("tag-mode").textContent = state.tagsEdited
    ? "Tag dipilih sendiri."
    : "Saat koreksi disimpan, tag ditentukan dari aturan kota untuk topik dan wilayah di atas "
      + "(wilayah yang belum pasti ikut menandai camat dan lurahnya).";
}

function setBusy(busy) {
  state.busy = busy;
  for (const id of ["accept", "reject", "skip", "save-correction"]) $(id).disabled = busy;
}

// -- saving ----------------------------------------------------------------------------------

function correctionBody() {
  const topic = $("c-topic").value;
  const kecamatan = $("c-kecamatan").value || null;
  const kelurahan = $("c-kelurahan").value || null;
  const body = { decision: "correct", topic, kecamatan, kelurahan, note: $("c-note").value };
  // Unedited tags follow the topic and area the reviewer saves (the server applies the tag
  // rules): a person vouches for them, so an area the model was unsure of ("Jl. Sawah Lebar",
  // read below the tagging threshold) now tags its camat and lurah.
  if (state.tagsEdited) body.tags = state.tags;
  return body;
}

async function save(body) {
  if (!state.current || state.busy) return;
  const item = state.current;
  setBusy(true);
  try {
    const review = await api(`/posts/${encodeURIComponent(item.id)}/review`, {
      method: "POST", body,
    });
    addSaved(item, review);
    setStatus(`Tersimpan: ${describeReview(review)}`);
    state.queue.shift();
    state.total = Math.max(0, state.total - 1);
    if (!state.queue.length) await loadQueue(); else showCurrent();
  } catch (error) {
    setBusy(false);
    if (error.status === 401) { signOut(); $("signin-error").textContent = "Sesi berakhir; masuk lagi."; return; }
    setStatus(`Belum tersimpan: ${error.message}`, true);
  }
}

function describeReview(review) {
  const word = DECISION_WORDS[review.decision] || review.decision;
  const a = review.after;
  if (review.decision === "reject") return word;
  const topic = state.topicName.get(a.topic) || a.topic;
  const where = a.kelurahan ? `${a.kelurahan}, ${a.kecamatan}` : (a.kecamatan || "tanpa wilayah");
  const tags = a.tags.length ? a.tags.map((t) => state.officialName.get(t) || t).join(", ") : "tanpa tag";
  return `${word} — ${topic} · ${where} · ${tags}`;
}

function addSaved(item, review) {
  const li = el("li", describeReview(review));
  li.dataset.postId = item.id;
  li.dataset.decision = review.decision;
  const snippet = Array.from(item.text).slice(0, 80).join("");
  li.append(el("div", `“${snippet}${item.text.length > 80 ? "…" : ""}”`, "muted"));
  $("saved-list").prepend(li);
}

function skip() {
  if (!state.current || state.busy) return;
  state.queue.push(state.queue.shift());
  setStatus("Dilewati; akan muncul lagi nanti.");
  showCurrent();
}

// -- wiring ----------------------------------------------------------------------------------

function typingIn(target) {
  return target instanceof HTMLInputElement || target instanceof HTMLSelectElement
    || target instanceof HTMLTextAreaElement;
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("key").value.trim());
  });
  $("signout").addEventListener("click", signOut);
  $("accept").addEventListener("click", () => save({ decision: "accept" }));
  $("reject").addEventListener("click", () => save({ decision: "reject", note: $("c-note").value }));
  $("skip").addEventListener("click", skip);
  $("correct-form").addEventListener("submit", (event) => {
    event.preventDefault();
    save(correctionBody());
  });
  $("f-topic").addEventListener("change", changeFilters);
  $("f-kecamatan").addEventListener("change", changeFilters);
  $("c-kecamatan").addEventListener("change", () => fillKelurahan($("c-kecamatan").value, null));
  $("c-kelurahan").addEventListener("change", () => {
    const kec = state.kelurahanOf.get($("c-kelurahan").value);
    if (kec && $("c-kecamatan").value !== kec) { $("c-kecamatan").value = kec; }
  });
  $("c-add-tag").addEventListener("change", () => {
    const id = $("c-add-tag").value;
    if (id && !state.tags.includes(id)) { state.tags.push(id); state.tagsEdited = true; renderTags(); }
    $("c-add-tag").value = "";
  });
  document.addEventListener("keydown", (event) => {
    if ($("review").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingIn(event.target)) return;
    const key = event.key.toLowerCase();
    if (key === "a") { event.preventDefault(); save({ decision: "accept" }); }
    else if (key === "r") { event.preventDefault(); save({ decision: "reject" }); }
    else if (key === "j") { event.preventDefault(); skip(); }
  });
  if (state.key) signIn(state.key); else $("key").focus();
});

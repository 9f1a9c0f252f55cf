// The response report page: signs in with an API key (kept in sessionStorage, shared with the
// review page), asks the server for the report as an HTML fragment (table and chart rendered
// server-side, every value escaped there) and downloads the same report as CSV.
"use strict";

const KEY_STORAGE = "tandai.apiKey";
const $ = (id) => document.getElementById(id);
let apiKey = sessionStorage.getItem(KEY_STORAGE);
let latestLoad = 0;  // only the newest of overlapping loads is shown

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function request(path) {
  const response = await fetch(path, { headers: { "Authorization": `Bearer ${apiKey}` } });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response;
}

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

// The chosen days, in the browser's time zone, as an instant; "until" includes its whole day.
function query(extra) {
  const params = new URLSearchParams({ group_by: $("group-by").value, ...extra });
  const since = $("since").value;
  const until = $("until").value;
  if (since) params.set("since", new Date(`${since}T00:00:00`).toISOString());
  if (until) {
    const end = new Date(`${until}T00:00:00`);
    end.setDate(end.getDate() + 1);
    params.set("until", end.toISOString());
  }
  return params.toString();
}

async function loadReport() {
  const load = ++latestLoad;
  setStatus("Memuat laporan…");
  try {
    const response = await request(`/reports/response-times.html?${query({})}`);
    const html = await response.text();
    if (load !== latestLoad) return;
    $("result").innerHTML = html;
    setStatus("");
  } catch (error) {
    if (load !== latestLoad) return;
    if (error.status === 401) { signOut(); return; }
    setStatus(`Gagal memuat laporan: ${error.message}`, true);
  }
}

async function downloadCsv() {
  try {
    const response = await request(`/reports/response-times?${query({ format: "csv" })}`);
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = `laporan-respons-${$("group-by").value}.csv`;
    document.body.append(link);
    link.click();
    link.remove();
    URL.revokeObjectURL(url);
  } catch (error) {
    setStatus(`Gagal mengunduh CSV: ${error.message}`, true);
  }
}

async function signIn(key) {
  apiKey = key;
  try {
    const me = await (await request("/reviews/me")).json();
    sessionStorage.setItem(KEY_STORAGE, key);
    $("who").textContent = `Masuk sebagai ${me.name} (${me.role})`;
    $("signout").hidden = false;
    $("signin").hidden = true;
    $("report").hidden = false;
    $("signin-error").textContent = "";
    await loadReport();
  } catch (error) {
    apiKey = null;
    sessionStorage.removeItem(KEY_STORAGE);
    $("signin").hidden = false;
    $("report").hidden = true;
    $("signin-error").textContent = error.status === 401
      ? "Kunci tidak dikenal atau sudah dicabut."
      : `Gagal masuk: ${error.message}`;
  }
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  apiKey = null;
  $("who").textContent = "";
  $("signout").hidden = true;
  $("report").hidden = true;
  $("signin").hidden = false;
  $("result").replaceChildren();
  $("key").value = "";
  $("key").focus();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("key").value.trim());
});
$("signout").addEventListener("click", signOut);
$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  loadReport();
});
$("group-by").addEventListener("change", loadReport);
$("csv").addEventListener("click", downloadCsv);

if (apiKey) signIn(apiKey);

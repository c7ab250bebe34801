// Applicant page: talks to the public /api/v1 endpoints like any other client.
// The order token is the only key to an order: kept in localStorage on this device, sent as a
// Bearer header (so images and the PDF are fetched as blobs, never by URL with the token in it).
"use strict";

const SPECS = JSON.parse(document.getElementById("specs-data").textContent);
const STORE = "photo-receipt-orders";
const DOC_EN = {
  ssc: "Social security card", id: "Resident ID card", driving: "Driving licence",
  "exit-entry": "Passport / exit-entry permit", residence: "Residence permit",
};
const STATUS_TEXT = {
  received: ["已收到照片，排队检测中…", "Photo received, waiting to be checked…"],
  processing: ["正在检测照片…", "Checking your photo…"],
  in_review: ["需要人工审核，请稍候，结果会显示在此页面", "A reviewer will look at your photo; the result appears here"],
  issued: ["审核通过，回执已签发", "Approved — your receipt is ready"],
  rejected: ["审核失败，请重新提交", "Not accepted — please fix and resubmit"],
  error: ["处理失败，请稍后再试或联系工作人员", "Processing failed; try again later or ask for help"],
  revoked: ["抽检未通过，回执已作废，请免费重新提交", "An audit found a problem: the receipt is void; resubmit for free"],
};
const SETTLED = ["issued", "rejected", "error", "revoked"];
const $ = (id) => document.getElementById(id);
const state = { orderId: null, token: null, view: null, stream: null, poll: null, objectUrls: [] };

function bi(zh, en) {
  const frag = document.createDocumentFragment();
  frag.append(zh);
  const span = document.createElement("span");
  span.className = "en";
  span.textContent = en;
  frag.append(span);
  return frag;
}

// --- spec selection -------------------------------------------------------------------------
function cityLabel(spec) {
  const en = spec.city.charAt(0).toUpperCase() + spec.city.slice(1);
  return spec.city === "guangdong" ? `广东省（全省通用） Guangdong (province-wide)` : `${spec.city_zh} ${en}`;
}

function fillCities() {
  const seen = new Map();
  for (const s of SPECS) if (!seen.has(s.city)) seen.set(s.city, cityLabel(s));
  const cities = [...seen.keys()].sort((a, b) => (a === "guangdong") - (b === "guangdong") || a.localeCompare(b));
  const sel = $("city");
  sel.replaceChildren(...cities.map((c) => new Option(seen.get(c), c)));
  const saved = localStorage.getItem("photo-receipt-city");
  sel.value = cities.includes(saved) ? saved : (cities.includes("shenzhen") ? "shenzhen" : cities[0]);
  fillDocuments();
}

function fillDocuments() {
  const city = $("city").value;
  localStorage.setItem("photo-receipt-city", city);
  const docs = SPECS.filter((s) => s.city === city || s.city === "guangdong");
  docs.sort((a, b) => (a.city === "guangdong") - (b.city === "guangdong"));
  $("spec").replaceChildren(...docs.map((s) => new Option(`${s.document_zh} ${DOC_EN[s.document] || s.document}`, s.id)));
  showSpec();
}

function specById(id) {
  return SPECS.find((s) => s.id === id);
}

function showSpec() {
  const s = specById($("spec").value);
  if (!s) return;
  const box = $("spec-info");
  const swatch = `<i class="swatch"></i>`;  // coloured below: the CSP refuses inline style attributes
  const validity = s.validity_days ? `有效期 ${s.validity_days} 天 <span class="en">valid ${s.validity_days} days</span>`
    : `长期有效 <span class="en">no expiry</span>`;
  box.innerHTML = `<b>${escapeHtml(s.title)}</b><br>${s.width_px}×${s.height_px} px · ${s.width_mm}×${s.height_mm} mm · ` +
    `${s.dpi} dpi · ${s.file_kb[0]}–${s.file_kb[1]} KB · 背景 ${swatch}<span class="en">background</span> · ${validity}`;
  box.querySelector(".swatch").style.background = s.background;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// --- ID number: check digit and age, so the guardian field shows only when needed --------------
function idInfo(value) {
  const v = value.trim().toUpperCase();
  if (!/^[1-9]\d{16}[\dX]$/.test(v)) return null;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(v[i]) * w[i];
  if ("10X98765432"[sum % 11] !== v[17]) return { valid: false };
  const y = Number(v.slice(6, 10)), m = Number(v.slice(10, 12)), d = Number(v.slice(12, 14));
  const now = new Date();
  let age = now.getFullYear() - y;
  if (now.getMonth() + 1 < m || (now.getMonth() + 1 === m && now.getDate() < d)) age -= 1;
  return { valid: true, age };
}

function onIdInput() {
  const info = idInfo($("id_number").value);
  const minor = info && info.valid && info.age < 16;
  $("guardian-row").hidden = !minor;
  $("guardian_name").required = !!minor;
}

// --- photo pickers (camera or album) ----------------------------------------------------------
function makePicker(container) {
  container.replaceChildren($("picker").content.cloneNode(true));
  const picker = { file: null };
  const preview = container.querySelector(".preview");
  for (const input of container.querySelectorAll("input.file")) {
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      if (!file) return;
      picker.file = file;
      const img = preview.querySelector("img");
      if (img.src) URL.revokeObjectURL(img.src);
      img.src = URL.createObjectURL(file);
      preview.querySelector(".file-name").textContent = `${file.name} · ${(file.size / 1048576).toFixed(1)} MB`;
      preview.hidden = false;
    });
  }
  return picker;
}

// --- API calls --------------------------------------------------------------------------------
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function send(url, form, key) {
  // one automatic retry with the same Idempotency-Key: a lost response never makes two orders
  let lastError;
  for (let i = 0; i < 2; i++) {
    try {
      const headers = { "Idempotency-Key": key };
      if (state.token && url.includes("/attempts")) headers.Authorization = `Bearer ${state.token}`;
      const res = await fetch(url, { method: "POST", body: form, headers });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw Object.assign(new Error((body.error && body.error.message) || `HTTP ${res.status}`), { api: true });
      return body;
    } catch (err) {
      lastError = err;
      if (err.api) break;
    }
  }
  throw lastError;
}

function authHeaders() {
  return { Authorization: `Bearer ${state.token}` };
}

async function fetchBlobUrl(path) {
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok) return null;
  const url = URL.createObjectURL(await res.blob());
  state.objectUrls.push(url);
  return url;
}

function saveOrder(orderId, token) {
  const all = JSON.parse(localStorage.getItem(STORE) || "{}");
  all[orderId] = token;
  localStorage.setItem(STORE, JSON.stringify(all));
  localStorage.setItem("photo-receipt-last", orderId);
}

// --- views ------------------------------------------------------------------------------------
function showError(el, message) {
  el.textContent = message;
  el.hidden = !message;
}

async function submitOrder(event) {
  event.preventDefault();
  const err = $("form-error");
  showError(err, "");
  if (!$("applicant_name").value.trim()) return showError(err, "请填写姓名 / Please enter your name");
  const info = $("id_number").value.trim() ? idInfo($("id_number").value) : { valid: true };
  if (!info || !info.valid) return showError(err, "身份证号码有误，请核对 / The ID number is not valid");
  if (!$("guardian-row").hidden && !$("guardian_name").value.trim())
    return showError(err, "请填写监护人姓名 / Please enter the guardian's name");
  if (!startPicker.file) return showError(err, "请先拍照或选择照片 / Please take or choose a photo");
  const form = new FormData();
  for (const name of ["spec", "applicant_name", "id_number", "phone", "guardian_name"]) {
    const value = $(name).value.trim();
    if (value) form.append(name, value);
  }
  form.append("photo", startPicker.file, startPicker.file.name || "photo.jpg");
  const button = $("submit");
  button.disabled = true;
  try {
    const body = await send("/api/v1/orders", form, newKey());
    saveOrder(body.order_id, body.token);
    openOrder(body.order_id, body.token);
  } catch (e) {
    showError(err, e.message || "上传失败，请重试 / Upload failed, please try again");
  } finally {
    button.disabled = false;
  }
}

async function resubmit() {
  const err = $("resubmit-error");
  showError(err, "");
  if (!resubmitPicker.file) return showError(err, "请先拍照或选择新照片 / Please take or choose a new photo");
  const form = new FormData();
  form.append("photo", resubmitPicker.file, resubmitPicker.file.name || "photo.jpg");
  $("resubmit").disabled = true;
  try {
    await send(`/api/v1/orders/${state.orderId}/attempts`, form, newKey());
    resubmitPicker = makePicker($("pick-resubmit"));
    await refresh();
    follow();
  } catch (e) {
    showError(err, e.message || "上传失败，请重试 / Upload failed, please try again");
  } finally {
    $("resubmit").disabled = false;
  }
}

function openOrder(orderId, token) {
  state.orderId = orderId;
  state.token = token;
  state.view = null;
  if (location.hash !== `#order=${orderId}`) history.replaceState(null, "", `#order=${orderId}`);
  $("view-start").hidden = true;
  $("view-order").hidden = false;
  $("order-id").textContent = orderId;
  resetShare();
  window.scrollTo(0, 0);
  refresh().then(follow);
}

function setProgress(status) {
  // step 1 uploaded, 2 checking, 3 result; in_review waits at step 3 without being done
  const settled = SETTLED.includes(status);
  const at = settled ? 3 : status === "in_review" ? 2 : 1;
  document.querySelectorAll("#progress li").forEach((li, i) => {
    li.classList.toggle("done", i < at);
    li.classList.toggle("active", i === at);
    li.classList.toggle("bad", i === 2 && ["rejected", "error", "revoked"].includes(status));
  });
}

async function refresh() {
  const res = await fetch(`/api/v1/orders/${state.orderId}`, { headers: authHeaders() });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    $("status-box").className = "status error";
    $("status-box").replaceChildren(bi("无法打开订单", (body.error && body.error.message) || `HTTP ${res.status}`));
    return null;
  }
  const order = await res.json();
  render(order);
  return order;
}

async function render(order) {
  const status = order.status;
  const key = `${status}:${order.attempts.length}:${order.last_event_id}`;
  if (state.view === key) return;
  state.view = key;
  setProgress(status);
  const spec = specById(order.spec);
  $("order-spec").textContent = spec ? spec.title : order.spec;
  const box = $("status-box");
  box.className = `status s-${status}`;
  box.dataset.status = status;
  const [zh, en] = STATUS_TEXT[status] || [status, status];
  box.replaceChildren(bi(zh, en));
  if (status === "received" || status === "processing") box.prepend(Object.assign(document.createElement("i"), { className: "spinner" }));
  const latest = order.attempts[order.attempts.length - 1];
  if (status === "error" && latest && latest.error) {
    const small = document.createElement("small");
    small.textContent = `错误代码 error code: ${latest.error}`;
    box.append(small);
  }

  $("result-issued").hidden = status !== "issued";
  const rejected = status === "rejected" || status === "revoked";
  $("result-rejected").hidden = !rejected;
  // a machine rejection (not a reviewer's) of a photo that was analysed can go to a human once
  $("appeal-box").hidden = !(status === "rejected" && latest && latest.verdict === "reject" && !latest.reviewed &&
    latest.has_annotated);
  if (status === "issued" && order.receipt) {
    $("receipt-number").textContent = order.receipt.number.replace(/(.{3})(.{4})(.{4})(.{4})/, "$1 $2 $3 $4");
    $("receipt-expiry").replaceChildren(order.receipt.expires_on
      ? bi(`有效期至 ${order.receipt.expires_on}`, `valid until ${order.receipt.expires_on}`)
      : bi("长期有效", "no expiry"));
    const url = await fetchBlobUrl(`/api/v1/orders/${order.order_id}/photo.jpg`);
    if (url) $("issued-photo").src = url;
  }
  if (rejected && latest) {
    $("reasons").replaceChildren(...latest.reasons.map((r) => {
      const li = document.createElement("li");
      const b = document.createElement("b");
      b.textContent = r.message_zh;
      const en = document.createElement("span");
      en.className = "en";
      en.textContent = r.message_en;
      li.append(b, en);
      li.dataset.code = r.code;
      return li;
    }));
    const url = latest.has_annotated ? await fetchBlobUrl(`/api/v1/orders/${order.order_id}/annotated.jpg`) : null;
    $("annotated").hidden = !url;
    if (url) $("annotated").src = url;
  }
  renderHistory(order.attempts);
}

function renderHistory(attempts) {
  $("history-card").hidden = attempts.length < 2;
  $("history").replaceChildren(...attempts.map((a) => {
    const li = document.createElement("li");
    const verdict = { pass: "通过 passed", review: "人工审核 review", reject: "不合格 rejected" }[a.verdict] || a.status;
    const when = a.created_at ? new Date(a.created_at).toLocaleString("zh-CN", { hour12: false }) : "";
    li.textContent = `第 ${a.attempt} 次 #${a.attempt} · ${verdict} · ${when}`;
    if (a.reasons && a.reasons.length && a.verdict !== "pass") {
      const small = document.createElement("small");
      small.textContent = a.reasons.map((r) => r.message_zh).join("；");
      li.append(document.createElement("br"), small);
    }
    return li;
  }));
}

// --- live updates: server-sent events over fetch (so the token stays in a header), polling as fallback
function stopFollowing() {
  if (state.stream) state.stream.abort();
  if (state.poll) clearTimeout(state.poll);
  state.stream = null;
  state.poll = null;
}

function follow() {
  stopFollowing();
  const box = $("status-box");
  if (SETTLED.includes(box.dataset.status)) return;
  const ctrl = new AbortController();
  state.stream = ctrl;
  const orderId = state.orderId;
  (async () => {
    const res = await fetch(`/api/v1/orders/${orderId}/events?timeout=120`, {
      headers: { ...authHeaders(), Accept: "text/event-stream" }, signal: ctrl.signal,
    });
    if (!res.ok || !res.body) throw new Error("no stream");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const chunk = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (/^data: /m.test(chunk)) await refresh();
      }
    }
  })().then(async () => {
    if (state.stream !== ctrl) return;
    await refresh();
    follow();  // the server closes the stream on a final status or after its timeout
  }).catch(() => {
    if (state.stream !== ctrl) return;
    poll();
  });
}

function poll() {
  state.stream = null;
  state.poll = setTimeout(async () => {
    const order = await refresh().catch(() => null);
    if (!order || !SETTLED.includes(order.status)) poll();
  }, 1500);
}

async function appeal() {
  const err = $("appeal-error");
  showError(err, "");
  $("appeal").disabled = true;
  try {
    const res = await fetch(`/api/v1/orders/${state.orderId}/appeal`, { method: "POST", headers: authHeaders() });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((body.error && body.error.message) || `HTTP ${res.status}`);
    await refresh();
    follow();
  } catch (e) {
    showError(err, e.message);
  } finally {
    $("appeal").disabled = false;
  }
}

async function downloadReceipt() {
  const res = await fetch(`/api/v1/orders/${state.orderId}/receipt.pdf`, { headers: authHeaders() });
  if (!res.ok) return;
  const blob = await res.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  const number = $("receipt-number").textContent.replace(/\s/g, "");
  a.download = `照片回执-receipt-${number}.pdf`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}

function startOver() {
  stopFollowing();
  state.objectUrls.forEach((u) => URL.revokeObjectURL(u));
  state.objectUrls = [];
  state.orderId = state.token = null;
  history.replaceState(null, "", location.pathname);
  $("view-order").hidden = true;
  $("view-start").hidden = false;
  startPicker = makePicker($("pick-start"));
}

// --- open the order on another device: a link / QR code with the token in the URL fragment ------
// (a fragment never reaches a server); the other device stores the token and drops it from the URL.
function shareLink() {
  return `${location.origin}/#order=${state.orderId}&token=${encodeURIComponent(state.token)}`;
}

async function showShare() {
  $("share-link").value = shareLink();
  $("share-box").hidden = false;
  const url = await fetchBlobUrl(`/applicant/share-qr.svg?order=${state.orderId}`);
  if (url) $("share-qr").src = url;
}

function resetShare() {
  $("share-box").hidden = true;
  $("share-link").value = "";
  $("share-qr").removeAttribute("src");
}

function takeSharedOrder() {
  // "#order=<id>&token=<token>" from another device: keep the token here, show only the order id
  const shared = location.hash.match(/order=([0-9a-f]{20})&token=([^&]+)/);
  if (!shared) return;
  saveOrder(shared[1], decodeURIComponent(shared[2]));
  history.replaceState(null, "", `#order=${shared[1]}`);
}

// --- start ------------------------------------------------------------------------------------
let startPicker = makePicker($("pick-start"));
let resubmitPicker = makePicker($("pick-resubmit"));
fillCities();
$("city").addEventListener("change", fillDocuments);
$("spec").addEventListener("change", showSpec);
$("id_number").addEventListener("input", onIdInput);
$("order-form").addEventListener("submit", submitOrder);
$("resubmit").addEventListener("click", resubmit);
$("download").addEventListener("click", downloadReceipt);
$("appeal").addEventListener("click", appeal);
$("new-order").addEventListener("click", startOver);

$("share-show").addEventListener("click", showShare);
$("share-copy").addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText($("share-link").value));
takeSharedOrder();

const match = location.hash.match(/order=([0-9a-f]{20})/);
if (match) {
  const token = JSON.parse(localStorage.getItem(STORE) || "{}")[match[1]];
  if (token) openOrder(match[1], token);
}

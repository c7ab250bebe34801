// Reviewer screens: login, queue, case. Talks to /api/v1/review only (the session cookie is sent
// by the browser; every state-changing request carries the X-CSRF-Token from the page's meta tag).
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE = document.body.dataset.page;
const ME = document.body.dataset.me;
const CSRF = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
const UNDO_S = Number((document.querySelector("meta[name=undo-s]") || {}).content || 8);
const API = "/api/v1/review";
const KIND = { review: ["复核", "review"], audit: ["抽检", "audit"], appeal: ["申诉", "appeal"] };
const VERDICT = { pass: ["通过", "pass"], borderline: ["存疑", "borderline"], fail: ["不合格", "fail"] };
const LAST_KEY = "review-last-decision";

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function bi(zh, en) {
  const frag = document.createDocumentFragment();
  frag.append(zh, " ", el("span", { class: "en", textContent: en }));
  return frag;
}

function ago(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = CSRF;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin" });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && PAGE !== "login") {
    location.href = `/review/login?next=${encodeURIComponent(location.pathname)}`;
    throw new ApiError(401, "REVIEW_AUTH_REQUIRED", "session over");
  }
  if (!res.ok) {
    const err = data.error || {};
    throw new ApiError(res.status, err.code || `HTTP_${res.status}`, err.message || `HTTP ${res.status}`);
  }
  return data;
}

// --- toasts (undo lives here) ------------------------------------------------------------------
function toast(content, { ms = 4000, kind = "", action = null } = {}) {
  const box = el("div", { class: `toast ${kind}`, dataset: { testid: "toast" } });
  box.append(content);
  if (action) {
    const b = el("button", { type: "button", class: "link", textContent: action.label });
    b.addEventListener("click", action.run);
    box.append(b);
  }
  $("toasts").append(box);
  const timer = setTimeout(() => box.remove(), ms);
  box.close = () => { clearTimeout(timer); box.remove(); };
  return box;
}

function rememberDecision(d) {
  sessionStorage.setItem(LAST_KEY, JSON.stringify(d));
}

function lastDecision() {
  const d = JSON.parse(sessionStorage.getItem(LAST_KEY) || "null");
  return d && Date.parse(d.effective_at) > Date.now() ? d : null;
}

let undoToast = null;

function showUndoToast(d) {
  if (undoToast) undoToast.close();
  const left = Math.max(0, Math.round((Date.parse(d.effective_at) - Date.now()) / 1000));
  const what = d.approve ? bi("已通过", "Approved") : bi("已拒绝", "Rejected");
  const text = el("span", {}, what, ` · #${d.attempt_id} · `, el("span", { class: "count", textContent: `${left} s` }));
  undoToast = toast(text, { ms: left * 1000 + 300, kind: d.approve ? "ok" : "bad",
    action: { label: "撤销 Undo (U)", run: () => undoLast() } });
  const count = undoToast.querySelector(".count");
  const tick = setInterval(() => {
    const s = Math.max(0, Math.round((Date.parse(d.effective_at) - Date.now()) / 1000));
    count.textContent = `${s} s`;
    if (s <= 0) clearInterval(tick);
  }, 250);
}

async function undoLast() {
  const d = lastDecision();
  if (!d) {
    toast(bi("没有可撤销的决定", "Nothing to undo"), { kind: "bad" });
    return;
  }
  try {
    await api("POST", `/decisions/${d.decision_id}/undo`);
    sessionStorage.removeItem(LAST_KEY);
    if (undoToast) undoToast.close();
    toast(bi("已撤销，案件已退回队列", "Undone — the case is back in the queue"), { kind: "ok" });
    if (PAGE === "case") openCase(d.attempt_id, true);
  } catch (e) {
    toast(`${e.code}: ${e.message}`, { kind: "bad", ms: 6000 });
  }
}

// --- login -------------------------------------------------------------------------------------
function initLogin() {
  const form = $("login-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const err = $("login-error");
    err.hidden = true;
    $("login-submit").disabled = true;
    try {
      await api("POST", "/login", { username: $("username").value.trim(), password: $("password").value });
      location.href = form.dataset.next || "/review/";
    } catch (e) {
      err.textContent = `${e.message} (${e.code})`;
      err.dataset.code = e.code;
      err.hidden = false;
      $("password").select();
    } finally {
      $("login-submit").disabled = false;
    }
  });
}

// --- queue -------------------------------------------------------------------------------------
const queueState = { cases: [], timer: null, reasons: null };

function queueParams() {
  const p = new URLSearchParams();
  for (const [id, key] of [["f-kind", "kind"], ["f-spec", "spec"], ["f-rule", "rule"]]) {
    if ($(id) && $(id).value) p.set(key, $(id).value);
  }
  return p.toString();
}

function fillSelect(select, values) {
  const keep = select.value;
  const known = new Set([...select.options].map((o) => o.value));
  for (const v of values) if (!known.has(v)) select.append(new Option(v, v));
  select.value = keep;
}

function thumb(c) {
  const img = el("img", { alt: "", loading: "lazy", width: 120, height: 148, src: `${API}/cases/${c.attempt_id}/photo.jpg` });
  img.addEventListener("error", () => {
    if (!img.dataset.fallback) { img.dataset.fallback = "1"; img.src = `${API}/cases/${c.attempt_id}/upload.jpg`; }
  }, { once: false });
  return img;
}

function renderQueue(data) {
  queueState.cases = data.cases;
  const counts = $("counts");
  counts.replaceChildren(...Object.entries(data.counts).map(([k, v]) =>
    el("span", { class: `count k-${k}` }, el("b", { textContent: v }), " ",
      k === "total" ? bi("等待", "waiting") : bi(...(KIND[k] || [k, k])))),
  el("span", { class: "count" }, bi("最久", "oldest"), " ", el("b", { textContent: ago(data.oldest_waiting_s) })));
  fillSelect($("f-spec"), [...new Set(data.cases.map((c) => c.spec_id))]);
  $("queue-empty").hidden = data.cases.length > 0;
  $("queue").replaceChildren(...data.cases.map((c) => {
    const mine = c.claimed_by === ME;
    const li = el("li", { class: `qcase k-${c.kind}${c.claimed_by && !mine ? " held" : ""}`,
      dataset: { attempt: c.attempt_id, testid: "queue-case" } });
    const a = el("a", { href: `/review/cases/${c.attempt_id}` }, thumb(c));
    const info = el("div", { class: "qinfo" },
      el("div", {}, el("span", { class: `kind k-${c.kind}` }, bi(...(KIND[c.kind] || [c.kind, c.kind]))),
        " ", el("b", { textContent: `#${c.attempt_id}` })),
      el("div", { class: "muted", textContent: c.spec_id }),
      el("div", { class: "chips" }, ...c.flagged.map((f) => el("code", { textContent: f }))),
      el("div", { class: "muted" }, bi("等待", "waiting"), ` ${ago(c.waiting_s)}`),
      c.claimed_by ? el("div", { class: "holder" }, bi("审核中", "held by"), ` ${c.claimed_by}`) : null);
    a.append(info);
    li.append(a);
    return li;
  }));
}

async function loadQueue() {
  try {
    renderQueue(await api("GET", `/queue?${queueParams()}`));
    $("live").classList.remove("down");
  } catch (e) {
    $("live").classList.add("down");
  }
}

function pollQueue() {
  clearTimeout(queueState.timer);
  queueState.timer = setTimeout(async () => {
    if (!document.hidden) await loadQueue();
    pollQueue();
  }, 3000);
}

function oldestUnclaimed(cases, except) {
  return cases.find((c) => (!c.claimed_by || c.claimed_by === ME) && c.attempt_id !== except);
}

async function initQueue() {
  const reasons = await api("GET", "/reasons");
  fillSelect($("f-rule"), reasons.reasons.map((r) => r.code));
  for (const id of ["f-kind", "f-spec", "f-rule"]) $(id).addEventListener("change", loadQueue);
  await loadQueue();
  pollQueue();
  document.addEventListener("keydown", (event) => {
    if (isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Enter") {
      const next = oldestUnclaimed(queueState.cases);
      if (next) location.href = `/review/cases/${next.attempt_id}`;
      event.preventDefault();
    } else if (event.key === "u" || event.key === "U") {
      undoLast();
    }
  });
  const d = lastDecision();
  if (d) showUndoToast(d);
}

// --- case --------------------------------------------------------------------------------------
const cs = { id: null, data: null, claimed: false, renew: null, overlay: true, reasons: [], selected: new Set(),
  order: [], busy: false };

function isTyping(target) {
  return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
    target.isContentEditable);
}

function banner(content, code) {
  const b = $("banner");
  if (!content) { b.hidden = true; b.removeAttribute("data-code"); return; }
  b.replaceChildren(content);
  b.dataset.code = code || "";
  b.hidden = false;
}

function setActionsEnabled(on) {
  for (const id of ["btn-approve", "btn-reject"]) $(id).disabled = !on;
}

async function releaseClaim() {
  clearInterval(cs.renew);
  if (cs.claimed && cs.id) {
    const id = cs.id;
    cs.claimed = false;
    await fetch(`${API}/cases/${id}/claim`, { method: "DELETE", headers: { "X-CSRF-Token": CSRF }, keepalive: true })
      .catch(() => null);
  }
}

async function claim(id) {
  try {
    const r = await api("POST", `/cases/${id}/claim`);
    cs.claimed = true;
    clearInterval(cs.renew);
    cs.renew = setInterval(() => api("POST", `/cases/${id}/claim`).catch(() => null), Math.max(5, r.claim_s / 3) * 1000);
    return null;
  } catch (e) {
    cs.claimed = false;
    return e;
  }
}

function drawOverlay() {
  const svg = $("overlay");
  const img = $("img-upload");
  svg.replaceChildren();
  if (!cs.data || !img.naturalWidth) return;
  svg.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
  const ns = "http://www.w3.org/2000/svg";
  const stroke = Math.max(2, img.naturalWidth / 250);
  // flagged rules' regions on top, bold; the passing rules' regions faint (what the machine looked at)
  for (const rule of [...cs.data.rules].reverse()) {
    for (const region of rule.evidence || []) {
      let shape;
      if (region.box) {
        const [x, y, w, h] = region.box;
        shape = document.createElementNS(ns, "rect");
        for (const [k, v] of Object.entries({ x, y, width: w, height: h })) shape.setAttribute(k, v);
      } else if (region.polygon) {
        shape = document.createElementNS(ns, "polygon");
        shape.setAttribute("points", region.polygon.map((p) => p.join(",")).join(" "));
      } else continue;
      shape.setAttribute("class", `v-${rule.verdict}`);
      shape.setAttribute("stroke-width", stroke);
      const title = document.createElementNS(ns, "title");
      title.textContent = `${rule.code}: ${region.label}`;
      shape.append(title);
      svg.append(shape);
      if (rule.flagged) {
        const label = document.createElementNS(ns, "text");
        const [lx, ly] = region.box ? [region.box[0], region.box[1]] : [Math.min(...region.polygon.map((p) => p[0])),
          Math.min(...region.polygon.map((p) => p[1]))];
        label.setAttribute("x", lx + stroke);
        label.setAttribute("y", Math.max(ly - stroke * 2, stroke * 6));
        label.setAttribute("font-size", stroke * 6);
        label.setAttribute("class", `v-${rule.verdict}`);
        label.textContent = rule.code;
        svg.append(label);
      }
    }
  }
  svg.classList.toggle("off", !cs.overlay);
}

function renderCase(d) {
  cs.data = d;
  document.title = `#${d.attempt_id} · 照片复核`;
  const kind = $("c-kind");
  kind.className = `kind k-${d.kind}`;
  kind.replaceChildren(bi(...(KIND[d.kind] || [d.kind, d.kind])));
  $("c-title").textContent = `#${d.attempt_id} · ${d.spec_id} · 第 ${d.attempt} 次 attempt ${d.attempt}`;
  $("c-meta").replaceChildren(bi("等待", "waiting"), ` ${ago(d.waiting_s)} · `, bi("机器", "machine"), ` ${d.machine_verdict}`);
  if (d.kind === "audit") $("c-meta").append(" · ", bi("抽检：通过＝同意机器，不合格＝撤销回执", "audit: approve agrees, reject revokes the receipt"));
  if (d.kind === "appeal") $("c-meta").append(" · ", bi("申请人对机器判定提出申诉", "the applicant appealed the machine's rejection"));
  const ap = d.applicant;
  $("c-applicant").textContent = `${ap.name}${ap.id_number ? " · " + ap.id_number : ""}${ap.guardian ? " · 监护人代办 guardian" : ""}`;
  $("img-upload").src = `${API}/cases/${d.attempt_id}/upload.jpg`;
  const photo = $("img-photo");
  photo.closest("figure").hidden = !d.has_photo;
  if (d.has_photo) photo.src = `${API}/cases/${d.attempt_id}/photo.jpg`;
  $("rules").replaceChildren(...d.rules.map((r) => el("tr", { class: `v-${r.verdict}`, dataset: { code: r.code } },
    el("td", {}, el("code", { textContent: r.code }), el("div", { class: "msg", textContent: r.message_zh }),
      el("div", { class: "msg en", textContent: r.message_en })),
    el("td", { class: "verdict" }, bi(...(VERDICT[r.verdict] || [r.verdict, r.verdict]))),
    el("td", { class: "num", textContent: r.score === null ? "n/a" : r.score.toFixed(2) }))));
  $("earlier-box").hidden = !d.earlier_attempts.length;
  $("earlier").replaceChildren(...d.earlier_attempts.map((a) => el("li", {},
    el("b", { textContent: `#${a.attempt} ` }), `${a.verdict || a.status}${a.reviewed ? (a.approved ? " · 人工通过 approved" : " · 人工拒绝 rejected by a reviewer") : ""}`,
    el("div", { class: "muted", textContent: a.reasons.map((r) => `${r.code} ${r.message_zh || ""}`).join("；") }))));
  drawOverlay();
}

async function openCase(id, replace = false) {
  if (cs.id && cs.id !== id) await releaseClaim();
  cs.id = id;
  cs.busy = false;
  setActionsEnabled(false);  // no decision on a case that is not on screen yet
  closeDialogs();
  $("note").value = "";
  const url = `/review/cases/${id}`;
  if (location.pathname !== url) history[replace ? "replaceState" : "pushState"]({ id }, "", url);
  banner(null);
  let d;
  try {
    d = await api("GET", `/cases/${id}`);
  } catch (e) {
    banner(bi(`无法打开案件 ${e.code}`, e.message), e.code);
    setActionsEnabled(false);
    return;
  }
  renderCase(d);
  if (d.state !== "open") {
    setActionsEnabled(false);
    const dec = d.decision;
    banner(dec ? bi(`已由 ${dec.reviewer} ${dec.approve ? "通过" : "拒绝"}`, `decided: ${dec.approve ? "approved" : "rejected"}`
      + (dec.undoable ? " — U to undo" : "")) : bi("此案件已关闭", "this case is closed"),
    dec ? "REVIEW_ALREADY_DECIDED" : "REVIEW_NOT_PENDING");
    return;
  }
  const err = await claim(id);
  if (err) {
    setActionsEnabled(false);
    banner(bi(err.code === "CASE_CLAIMED" ? "其他审核员正在处理" : "无法领取", `${err.code}: ${err.message}`), err.code);
  } else {
    setActionsEnabled(true);
    if (!d.has_photo && d.kind !== "audit") {
      $("btn-approve").disabled = true;  // nothing to issue: the server refuses it too (REVIEW_NO_PHOTO)
      banner(bi("无法生成规格照片，只能拒绝", "No spec photo could be made from this upload: reject only"), "REVIEW_NO_PHOTO");
    }
  }
  refreshOrder();
}

async function refreshOrder() {
  try {
    const q = await api("GET", "/queue");
    cs.order = q.cases.map((c) => c);
  } catch (e) {
    cs.order = [];
  }
}

async function nextCase(step = 1, skipCurrent = true) {
  await refreshOrder();
  const list = cs.order;
  if (!list.length) return showEmpty();
  const at = list.findIndex((c) => c.attempt_id === cs.id);
  let target;
  if (step > 0 && skipCurrent && at < 0) target = oldestUnclaimed(list, cs.id);
  else if (at < 0) target = list[0];
  else target = list[(at + step + list.length) % list.length];
  if (target && target.attempt_id === cs.id && skipCurrent) target = oldestUnclaimed(list, cs.id);
  if (!target || (target.attempt_id === cs.id && skipCurrent)) return showEmpty();
  openCase(target.attempt_id);
}

function showEmpty() {
  releaseClaim();
  cs.id = null;
  setActionsEnabled(false);
  banner(el("span", {}, bi("队列已清空", "The queue is empty"), " · ", el("a", { href: "/review/", textContent: "返回队列 back to the queue" })),
    "QUEUE_EMPTY");
}

async function decide(approve, reasons = []) {
  if (cs.busy || !cs.id || $(approve ? "btn-approve" : "btn-reject").disabled) return;
  cs.busy = true;
  const id = cs.id;
  try {
    const note = $("note").value.trim() || null;
    const r = await api("POST", `/cases/${id}/decision`, { approve, reasons, note });
    cs.claimed = false;  // decided: nothing to release
    clearInterval(cs.renew);
    const d = { ...r, attempt_id: id, approve };
    rememberDecision(d);
    showUndoToast(d);
    closeDialogs();
    await nextCase(1, true);
  } catch (e) {
    cs.busy = false;
    if (e.status === 422) { showRejectError(`${e.code}: ${e.message}`); return; }
    toast(`${e.code}: ${e.message}`, { kind: "bad", ms: 6000 });
    banner(bi("无法提交决定", `${e.code}: ${e.message}`), e.code);
  }
}

// the reject dialog: flagged rules' reasons first, numbered 1-9 with the rest
function reasonOrder() {
  const flagged = (cs.data && cs.data.suggested_reasons) || [];
  const rest = cs.reasons.filter((r) => !flagged.includes(r.code));
  return [...flagged.map((c) => cs.reasons.find((r) => r.code === c)).filter(Boolean), ...rest];
}

function renderReasons() {
  const filter = $("reason-filter").value.trim().toLowerCase();
  const flagged = new Set((cs.data && cs.data.suggested_reasons) || []);
  const items = reasonOrder().filter((r) => !filter || `${r.code} ${r.zh} ${r.en}`.toLowerCase().includes(filter));
  cs.visibleReasons = items;
  $("reason-list").replaceChildren(...items.map((r, i) => {
    const box = el("input", { type: "checkbox", checked: cs.selected.has(r.code), tabIndex: -1 });
    box.addEventListener("change", () => toggleReason(r.code));
    return el("li", { class: `${cs.selected.has(r.code) ? "on" : ""}${flagged.has(r.code) ? " flagged" : ""}`,
      dataset: { code: r.code, testid: "reason" } },
    el("label", {}, box, i < 9 ? el("kbd", { textContent: String(i + 1) }) : el("span"),
      el("span", { class: "zh", textContent: r.zh }), el("span", { class: "en", textContent: r.en }),
      el("code", { textContent: r.code })));
  }));
}

function toggleReason(code) {
  if (cs.selected.has(code)) cs.selected.delete(code); else cs.selected.add(code);
  $("reject-error").hidden = true;
  renderReasons();
}

function showRejectError(text) {
  $("reject-error").textContent = text;
  $("reject-error").hidden = false;
}

function openReject() {
  if ($("btn-reject").disabled) return;
  cs.selected = new Set();  // nothing selected
  $("reason-filter").value = "";
  $("reject-error").hidden = true;
  renderReasons();
  $("reject-dialog").hidden = false;
}

function confirmReject() {
  if (!cs.selected.size) return showRejectError("请至少选择一个原因 / pick at least one reason");
  decide(false, [...cs.selected]);
}

function closeDialogs() {
  $("reject-dialog").hidden = true;
  $("help").hidden = true;
}

function onCaseKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  const rejectOpen = !$("reject-dialog").hidden;
  if (isTyping(event.target)) {
    if (key === "Escape") { event.target.blur(); event.preventDefault(); return; }
    if (key === "Enter" && event.target.id === "reason-filter") {
      event.preventDefault();
      const first = cs.visibleReasons && cs.visibleReasons[0];
      if ($("reason-filter").value.trim() && first && !cs.selected.has(first.code)) {
        toggleReason(first.code);  // typed a filter: Enter picks the first match
        $("reason-filter").value = "";
        renderReasons();
      } else {
        $("reason-filter").blur();
        confirmReject();
      }
    }
    return;
  }
  if (!$("help").hidden) {
    if (key === "Escape" || key === "?") { closeDialogs(); event.preventDefault(); }
    return;
  }
  if (rejectOpen) {
    if (/^[1-9]$/.test(key)) {
      const r = (cs.visibleReasons || [])[Number(key) - 1];
      if (r) toggleReason(r.code);
    } else if (key === "/") {
      $("reason-filter").focus();
      $("reason-filter").select();  // typing replaces the last filter
    } else if (key === "Enter") {
      confirmReject();
    } else if (key === "Escape") {
      closeDialogs();
    } else return;
    event.preventDefault();
    return;
  }
  const k = key.length === 1 ? key.toLowerCase() : key;
  const actions = {
    a: () => decide(true), r: openReject, n: () => $("note").focus(), j: () => nextCase(1, false),
    k: () => nextCase(-1, false), v: toggleOverlay, u: undoLast, "?": () => { $("help").hidden = false; },
    Escape: closeDialogs,
  };
  if (actions[k]) {
    event.preventDefault();
    actions[k]();
  }
}

function toggleOverlay() {
  cs.overlay = !cs.overlay;
  $("overlay").classList.toggle("off", !cs.overlay);
}

async function initCase() {
  cs.reasons = (await api("GET", "/reasons")).reasons;
  $("img-upload").addEventListener("load", drawOverlay);
  $("btn-approve").addEventListener("click", () => decide(true));
  $("btn-reject").addEventListener("click", openReject);
  $("reject-confirm").addEventListener("click", confirmReject);
  $("reject-cancel").addEventListener("click", closeDialogs);
  $("reason-filter").addEventListener("input", renderReasons);
  $("btn-next").addEventListener("click", () => nextCase(1, false));
  $("btn-prev").addEventListener("click", () => nextCase(-1, false));
  $("btn-help").addEventListener("click", () => { $("help").hidden = false; });
  $("help-close").addEventListener("click", closeDialogs);
  document.addEventListener("keydown", onCaseKey);
  window.addEventListener("popstate", (e) => { if (e.state && e.state.id) openCase(e.state.id, true); });
  window.addEventListener("pagehide", releaseClaim);
  const d = lastDecision();
  if (d) showUndoToast(d);
  await openCase(Number(document.body.dataset.attempt), true);
}

// --- start -------------------------------------------------------------------------------------
if ($("logout")) {
  $("logout").addEventListener("click", async () => {
    await releaseClaim();
    await api("POST", "/logout").catch(() => null);
    sessionStorage.removeItem(LAST_KEY);
    location.href = "/review/login";
  });
}
({ login: initLogin, queue: initQueue, case: initCase })[PAGE]?.();

// What the viewer pages share: the page's data, the zh-CN messages, the API, the viewer's
// login, campaign time, and building elements (text always through textContent).
"use strict";
const Viewer = (() => {
  const node = document.getElementById("page-data");
  const page = node ? JSON.parse(node.textContent) : {};
  const M = page.messages || {};
  const campaign = page.campaign || {};

  const fmt = (template, values = {}) =>
    String(template || "").replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : ""));
  const t = (key, values) => {
    const [section, name] = key.split(".");
    return fmt((M[section] || {})[name], values);
  };
  const yuan = (fen) => (fen % 100 ? (fen / 100).toFixed(2) : String(fen / 100));

  function el(tag, className, ...children) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    for (const child of children) if (child !== null && child !== undefined) made.append(child);
    return made;
  }

  function button(label, onClick, className = "") {
    const made = el("button", className, label);
    made.type = "button";
    made.addEventListener("click", onClick);
    return made;
  }

  // Campaign time: the server's clock, which a simulated campaign moves; every feed
  // message and page load says what it is, and the page keeps the offset.
  let offset = (page.now_ms || Date.now()) - Date.now();
  const clock = {
    now: () => Date.now() + offset,
    sync(isoOrMs) { offset = (typeof isoOrMs === "number" ? isoOrMs : Date.parse(isoOrMs)) - Date.now(); },
  };
  const zone = campaign.timezone || "Asia/Shanghai";
  const stamp = new Intl.DateTimeFormat("zh-CN", { timeZone: zone, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  function when(value) {  // 9月6日 10:00, in the campaign's zone
    const part = Object.fromEntries(stamp.formatToParts(new Date(value)).map((p) => [p.type, p.value]));
    return `${part.month}月${part.day}日 ${part.hour}:${part.minute}`;
  }
  function span(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const pad = (n) => String(n).padStart(2, "0");
    const days = Math.floor(s / 86400);
    const clockPart = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
    return days ? `${days}天 ${clockPart}` : clockPart;
  }

  class ApiError extends Error {
    constructor(code, status, field) {
      super((M.errors || {})[code] || (M.errors || {}).internal || code);
      this.code = code; this.status = status; this.field = field;
    }
  }

  let token = null;
  async function api(method, path, body) {
    const form = body instanceof FormData;  // a form with files: the browser sets its type
    const headers = form ? {} : { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    let response;
    try {
      response = await fetch("/api/v1" + path, { method, headers, body: body === undefined || form ? body : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError("unavailable", 0, null);
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(data.error || "internal", response.status, data.field);
    return data;
  }

  // Who the viewer is: the host platform's signed assertion (in the URL's fragment, which
  // never reaches a server log), or the demo's login with an id kept in this browser.
  async function login() {
    const kept = JSON.parse(localStorage.getItem("liveroom.session") || "null");
    const fragment = new URLSearchParams(location.hash.slice(1));
    const assertion = fragment.get("assertion");
    if (assertion) {
      history.replaceState(null, "", location.pathname + location.search);
      const session = await api("POST", "/sessions/host", { assertion });
      return keep(session);
    }
    if (kept && Date.parse(kept.expires_at) > Date.now() + 60_000) {
      token = kept.token;
      return kept.user_id;
    }
    if (!(page.login || {}).demo) throw new ApiError("unauthorized", 401, null);
    let user = localStorage.getItem("liveroom.user");
    if (!user) {
      user = "viewer-" + Math.random().toString(36).slice(2, 10);
      localStorage.setItem("liveroom.user", user);
    }
    return keep(await api("POST", "/sessions", { user_id: user }));
  }

  function keep(session) {
    token = session.token;
    localStorage.setItem("liveroom.session", JSON.stringify(session));
    return session.user_id;
  }

  // Pay a payment the API opened: with the demo's sandbox provider where demo login is on;
  // a real deployment hands payment_id to the host platform's payment sheet.
  // Pay an opened payment the provider's way; true when it went through here and then.
  async function settle(payment, showQr) {
    const checkout = payment.checkout;
    if (!checkout) {  // the sandbox: the demo plays the provider
      if ((page.login || {}).demo) await api("POST", `/sandbox/payments/${payment.payment_id}/succeed`, {});
      return true;
    }
    if (checkout.kind === "wap") { location.assign(checkout.url); return false; }  // Alipay's cashier
    if (checkout.kind === "native") { showQr(checkout.code_url); return false; }  // scan with WeChat
    if (!window.WeixinJSBridge) throw new Error(t("live.pay_in_wechat"));
    const { kind, ...request } = checkout;  // JSAPI inside WeChat
    await new Promise((resolve, reject) => window.WeixinJSBridge.invoke("getBrandWCPayRequest", request, (res) =>
      res.err_msg === "get_brand_wcpay_request:ok" ? resolve() : reject(new Error(t("live.pay_cancelled")))));
    return true;
  }

  let toastTimer = null;
  function toast(text) {
    const box = document.getElementById("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
  }

  // A feed that comes back: reconnect with backoff (with jitter, so a venue's phones do not
  // come back in one wave), and tell the page when it is back so it can resync.
  function feed(path, { onMessage, onUp, onDown }) {
    let attempt = 0;
    let socket = null;
    let restarting = false;
    function connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${location.host}${path()}`);
      socket.onopen = () => { attempt = 0; onUp && onUp(); };
      socket.onmessage = (event) => onMessage(JSON.parse(event.data));
      socket.onclose = () => {
        if (restarting) { restarting = false; connect(); return; }
        onDown && onDown();
        const wait = Math.min(15000, 500 * 2 ** attempt++) * (0.5 + Math.random());
        setTimeout(connect, wait);
      };
    }
    connect();
    // A new path (another group to watch): reconnect now, which is no drop of the network.
    return { restart() { restarting = true; socket.close(); } };
  }

  return { page, campaign, t, fmt, yuan, el, button, clock, when, span, api, login, settle, toast, feed, ApiError };
})();

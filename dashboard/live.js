// The viewers' live-room page: stock and phase from the public feed, orders through the API.
(() => {
  "use strict";
  const campaign = location.pathname.split("/").filter(Boolean)[1] || "mid-autumn";
  const params = new URLSearchParams(location.search);
  const ref = params.get("ref");
  const $ = (id) => document.getElementById(id);
  const yuan = (fen) => "¥" + (fen / 100).toFixed(fen % 100 ? 2 : 0);
  const statusText = { awaiting_payment: "待支付", awaiting_balance: "待付尾款", paid: "已支付",
    expired: "已过期", forfeited: "定金不退", group_failed: "拼团失败已退款", refunded: "已退款",
    allocated: "已配货", shipped: "已发货", delivered: "已签收", completed: "已完成", cancelled: "已取消" };
  let headers = {};

  async function api(method, path, body) {
    const r = await fetch("/api/v1" + path, { method, headers: { "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await r.json();
    if (!r.ok) throw new Error(data.message || data.error);
    return data;
  }

  async function login() {
    // Demo login: a viewer id kept in this browser.
    let user = localStorage.getItem("liveroom.user");
    if (!user) { user = "viewer-" + Math.random().toString(36).slice(2, 10); localStorage.setItem("liveroom.user", user); }
    const session = await api("POST", "/sessions", { user_id: user });
    headers = { Authorization: "Bearer " + session.token };
  }

  async function refreshQuote() {
    const q = await api("GET", `/campaigns/${campaign}/quote`);
    if (q.applies) $("price").textContent = yuan(q.applies.unit_price_fen);
    $("effects").textContent = [q.applies ? q.applies.effects.join(" · ") : "", q.distributor_effect || ""].filter(Boolean).join(" · ");
  }

  async function refreshOrders() {
    const mine = await api("GET", "/me/orders");
    // Built as elements, text through textContent: never markup from data.
    $("orders").replaceChildren(...mine.orders.map((o) => {
      const item = document.createElement("li");
      const text = document.createElement("span");
      const group = o.group_code ? ` · 团 ${o.group_code}` : "";
      const detail = document.createElement("small");
      detail.textContent = `${statusText[o.status] || o.status} · 已付 ${yuan(o.paid_fen)}`;
      text.append(`${o.mode === "presale" ? "预售" : o.mode === "group" ? "拼团" : "直购"} ×${o.qty}${group}`, document.createElement("br"), detail);
      item.append(text);
      if (["awaiting_payment", "awaiting_balance"].includes(o.status)) {
        const pay = document.createElement("button");
        pay.dataset.pay = o.order_id;
        pay.textContent = "支付";
        item.append(pay);
      }
      return item;
    }));
  }

  async function order(body) {
    try {
      const placed = await api("POST", `/campaigns/${campaign}/orders`, ref ? { ...body, ref } : body);
      $("message").textContent = `下单成功 ${placed.order_id}` + (placed.group_code ? ` · 团号 ${placed.group_code}` : "") + ` · 应付 ${yuan(placed.amount_due_fen)}`;
      await refreshOrders();
    } catch (e) { $("message").textContent = "下单失败: " + e.message; }
  }

  async function pay(orderId) {
    try {
      const payment = await api("POST", `/orders/${orderId}/payments`);
      await api("POST", `/sandbox/payments/${payment.payment_id}/succeed`);  // the demo's provider
      $("message").textContent = `已支付 ${yuan(payment.amount_fen)}`;
    } catch (e) { $("message").textContent = "支付失败: " + e.message; }
    await refreshOrders();
  }

  function feed() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/live/${campaign}`);
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "notice") { $("notice").hidden = false; $("notice").textContent = m.text; return; }
      $("phase").textContent = { presale: "预售中", group: "拼团中", direct: "热卖中", ended: "已结束", upcoming: "即将开始" }[m.phase] || m.phase;
      if (m.stock) $("left").textContent = m.stock.remaining.toLocaleString();
    };
    ws.onclose = () => setTimeout(feed, 1000);
  }

  $("deposit").onclick = () => order({ mode: "presale", qty: 1 });
  $("open-group").onclick = () => order({ mode: "group", qty: 1, open_group: true });
  $("join-group").onclick = () => order({ mode: "group", qty: 1, group_code: $("code").value.trim().toUpperCase() });
  $("buy").onclick = () => order({ mode: "direct", qty: 1 });
  $("orders").onclick = (e) => { if (e.target.dataset.pay) pay(e.target.dataset.pay); };

  login().then(() => Promise.all([refreshQuote(), refreshOrders()])).then(() => { document.body.dataset.ready = "1"; });
  feed();
})();

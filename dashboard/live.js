// The live room: the viewer's price and every action open now with what it charges, groups
// to open, join and watch, orders that follow the live feed, notices and the inbox.
(() => {
  "use strict";
  const { page, campaign, t, yuan, el, button, clock, when, span, api, login, settle, toast, feed } = Viewer;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = {
    quote: page.quote, orders: [], groups: [], qty: 1, phase: page.phase,
    ref: params.get("ref"), invite: params.get("group"), material: params.get("material"),
    myGroup: null, seq: 0, user: null,
    addresses: [], tag: null,
  };

  // -- price and actions ---------------------------------------------------------------

  function renderPrice() {
    const q = state.quote;
    const applies = q && q.applies;
    $("price").textContent = "¥" + yuan(applies ? applies.unit_price_fen : campaign.sku.daily_price_fen);
    $("applies-mode").textContent = applies ? t("mode." + applies.offer) : "";
    // What the headline price means for paying: a group's is paid at the entry tier first and
    // the difference refunded; a presale's is a deposit now and the balance later.
    const note = !applies || applies.due_now_fen === applies.unit_price_fen ? ""
      : applies.offer === "group" ? t("live.group_refund_note", { due: yuan(applies.due_now_fen) })
        : applies.offer === "presale" && campaign.balance_window ? t("live.presale_note", {
          deposit: yuan(applies.due_now_fen), balance: yuan(applies.unit_price_fen - applies.due_now_fen),
          time: when(campaign.balance_window[0]) }) : "";
    $("price-note").textContent = note;
    $("identity").replaceChildren(...((q && q.identity_line) || []).map((text) => el("li", "", text)));
  }

  const openOptions = () => ((state.quote && state.quote.options) || []).filter((o) => o.open);

  function limitOf(mode) { return (campaign.limits || {})[mode] || 1; }

  function renderActions() {
    const options = openOptions();
    const box = $("actions");
    const most = Math.max(1, ...options.map((o) => limitOf(o.mode)));
    state.qty = Math.min(state.qty, most);
    $("qty").textContent = state.qty;
    const applies = state.quote && state.quote.applies;
    $("qty-limit").textContent = applies ? t("live.qty_limit", { n: limitOf(applies.mode) }) : "";
    const seen = new Set();
    const made = [];
    for (const option of options) {
      if (seen.has(option.offer)) continue;  // one "open a group" for all the tiers
      seen.add(option.offer);
      const amount = yuan(option.due_now_fen * state.qty);
      const label = {
        presale: t("live.pay_deposit", { amount }), group: t("live.open_group", { amount }),
        depositor_group: t("live.depositor_offer_buy", { amount }), direct: t("live.buy_now", { amount }),
      }[option.offer];
      const body = option.offer === "group" ? { mode: "group", open_group: true }
        : option.offer === "depositor_group" ? { mode: "group", offer: "depositor_group" }
          : { mode: option.offer };
      const action = button(label, () => place(body, action), option.offer === "presale" || option.offer === "direct" ? "primary" : "");
      action.dataset.offer = option.offer;
      action.disabled = !state.user || state.qty > limitOf(option.mode);
      made.push(action);
    }
    if (!made.length) made.push(el("p", "dim", state.phase === "ended" ? t("live.ended") : t("live.upcoming")));
    box.replaceChildren(...made);
    $("groups-card").hidden = !options.some((o) => o.offer === "group");
  }

  async function place(body, source) {
    if (source) source.disabled = true;
    try {
      const order = await placeOrder({ ...body, qty: state.qty });
      if (order.group_code && body.open_group) watchGroup(order.group_code);
      toast(t("live.placed"));
      const addressed = await attachDefault(order.order_id).catch(() => false);
      await pay(order.order_id);
      if (!addressed) toast(t("live.address_missing"));  // its row asks for one
    } catch (e) {
      toast(t("live.failed", { reason: e.message }));
    } finally {
      if (source) source.disabled = false;
      refreshAll();
    }
  }

  // Where this visit came from (a share link, a material shared with one, or a group's
  // invite): told once on arrival (a view) and at the first order button pressed (a click);
  // never in the way of buying.
  const visitSource = state.ref ? { ref: state.ref, ...(state.material ? { material: state.material } : {}) }
    : state.invite ? { group: state.invite } : null;
  let clicked = false;
  function tellVisit(kind) {
    if (!visitSource) return;
    api("POST", `/campaigns/${campaign.id}/visits`, { ...visitSource, kind }).catch((e) => {
      if (!visitSource.material || e.code !== "no_material") return;
      delete visitSource.material;  // taken down since it was shared: the link still counts
      tellVisit(kind);
    });
  }

  async function placeOrder(body) {
    if (!clicked) { clicked = true; tellVisit("click"); }
    try {
      return await api("POST", `/campaigns/${campaign.id}/orders`, state.ref ? { ...body, ref: state.ref } : body);
    } catch (e) {
      if (e.code !== "unknown_ref") throw e;
      state.ref = null;  // a bad link must not block buying
      toast(t("live.bad_ref_dropped"));
      return api("POST", `/campaigns/${campaign.id}/orders`, body);
    }
  }

  // Paying: the provider the viewer picks where the merchant takes more than one, then
  // that provider's own way (viewer.js settle: WeChat inside WeChat, Alipay's cashier, a QR
  // code to scan elsewhere). The order row moves when the provider's notice lands.
  async function pay(orderId) {
    const offered = page.payment_providers || ["sandbox"];
    const provider = offered.length > 1 ? await choose(offered) : offered[0];
    if (!provider) return;
    const payment = await api("POST", `/orders/${orderId}/payments`, { provider });
    const done = await settle(payment, (codeUrl) => showQr(codeUrl, payment.amount_fen));
    if (done) toast(t("live.paid"));
  }

  function choose(offered) {
    return new Promise((resolve) => {
      $("pay-title").textContent = t("live.pay_with");
      $("pay-qr").hidden = true;
      $("pay-choices").replaceChildren(...offered.map((p) => {
        const b = button(t("live.pay_" + p), () => { $("pay-dialog").close(); resolve(p); }, p === offered[0] ? "primary" : "");
        b.dataset.provider = p;
        return b;
      }));
      $("pay-dialog").onclose = () => resolve(null);
      $("pay-dialog").showModal();
    });
  }

  function showQr(codeUrl, amountFen) {
    $("pay-title").textContent = t("live.pay_scan_title", { amount: yuan(amountFen) });
    $("pay-choices").replaceChildren();
    $("pay-qr-image").src = "/api/v1/payments/qr.svg?" + new URLSearchParams({ url: codeUrl });
    $("pay-qr").hidden = false;
    $("pay-dialog").onclose = null;
    if (!$("pay-dialog").open) $("pay-dialog").showModal();
  }
  $("pay-close").addEventListener("click", () => $("pay-dialog").close());

  // -- orders ----------------------------------------------------------------------------

  function renderOrders() {
    const list = state.orders.filter((o) => o.campaign_id === campaign.id);
    if (!list.length) { $("orders").replaceChildren(el("li", "dim", t("live.no_orders"))); return; }
    $("orders").replaceChildren(...list.map(orderRow));
  }

  function orderRow(o) {
    const title = el("div", "row-title", t("live.order_line", { mode: t("mode." + o.mode), qty: o.qty }),
      o.group_code ? el("span", "code", " " + t("live.group_line", { code: o.group_code })) : null);
    const facts = [t("status." + o.status), t("live.paid_amount", { amount: yuan(o.paid_fen) })];
    if (o.refunded_fen) facts.push(t("live.refunded_amount", { amount: yuan(o.refunded_fen) }));
    const detail = el("div", "dim", facts.join(" · "));
    const row = el("li", "order", el("div", "", title, detail));
    if (o.mode === "group" && o.refunded_fen && !["group_failed", "refunded", "cancelled", "expired"].includes(o.status)) {
      row.firstChild.append(el("div", "good", t("live.refund_of_difference", { amount: yuan(o.refunded_fen) })));
    }
    if (o.shipment) row.firstChild.append(shipmentLine(o.shipment));
    if (o.after_sale.open) row.firstChild.append(el("div", "dim", t("live.after_sale_waiting")));
    if (o.after_sale.refunded_fen) row.firstChild.append(el("div", "good", t("live.after_sale_refunded", { amount: yuan(o.after_sale.refunded_fen) })));
    const last = o.after_sale.last;
    if (last && !o.after_sale.open) row.firstChild.append(el("div", "dim", t("live.after_sale_" + last.verdict, { reason: last.reason })));
    const side = addressButton(o) || afterSaleButton(o);
    if (side) row.append(el("div", "order-side", side));
    const owed = o.next_payment;
    if (owed && owed.payable_now) {
      const key = owed.stage === "balance" ? "live.pay_balance" : owed.stage === "deposit" ? "live.pay_deposit" : "live.pay_now";
      const payButton = button(t(key, { amount: yuan(owed.amount_fen) }), async () => {
        if (owed.stage === "balance" && !o.address_id && !(await attachDefault(o.order_id).catch(() => false))) {
          toast(t("errors.address_needed"));  // a presale ships somewhere: asked before its balance
          openAddresses(o.order_id);
          return;
        }
        payButton.disabled = true;
        try { await pay(o.order_id); } catch (e) { toast(t("live.failed", { reason: e.message })); }
        refreshAll();
      }, "small primary");
      payButton.dataset.pay = o.order_id;
      row.append(el("div", "order-side", payButton, el("small", "dim", t("live.ends_at", { time: when(owed.due_before) }))));
    } else if (owed && owed.opens_at) {
      row.append(el("small", "dim order-side", t("live.balance_opens", { time: when(owed.opens_at) })));
    }
    return row;
  }

  function shipmentLine(shipment) {
    const line = [t("live.shipment_line", { carrier: t("carrier." + shipment.carrier), number: shipment.tracking_no })];
    if (shipment.latest) line.push(t("logistics." + shipment.latest.status), shipment.latest.text);
    return el("div", "dim shipment", line.filter(Boolean).join(" · "));
  }

  function addressButton(o) {  // an order may choose or change where it ships until routed
    if (!ADDRESSABLE.includes(o.status)) return null;
    const label = o.address_id ? t("live.address_change") : t("live.address_needed");
    const made = button(label, () => openAddresses(o.order_id), o.address_id ? "small ghost" : "small primary");
    made.dataset.address = o.order_id;
    return made;
  }

  function afterSaleButton(o) {  // a delivered order, in its after-sale period
    if (o.status !== "delivered" || o.after_sale.open) return null;
    const made = button(t("live.after_sale_open"), () => openAfterSale(o), "small ghost");
    made.dataset.afterSale = o.order_id;
    return made;
  }

  // -- after-sale ----------------------------------------------------------------------------

  const claim = $("after-sale-form");
  let claimFor = null;

  function openAfterSale(o) {
    claimFor = o.order_id;
    claim.reset();
    $("photo-count").textContent = "";
    claim.units.max = o.qty - o.after_sale.units;
    $("after-sale-error").hidden = true;
    $("after-sale-dialog").showModal();
  }

  claim.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (claim.photos.files.length > 6) { showClaimError(t("live.too_many_photos")); return; }
    const body = new FormData(claim);  // the photos go as they are: the server checks them
    $("after-sale-send").disabled = true;
    try {
      await api("POST", `/orders/${claimFor}/after-sale`, body);
      $("after-sale-dialog").close();
      toast(t("live.after_sale_sent"));
      refreshOrders();
    } catch (err) { showClaimError(err.message); }
    finally { $("after-sale-send").disabled = false; }
  });
  $("after-sale-close").addEventListener("click", () => $("after-sale-dialog").close());
  claim.photos.addEventListener("change", () => {
    const n = claim.photos.files.length;
    $("photo-count").textContent = n ? t("live.photos_chosen", { n }) : "";
  });

  function showClaimError(message) {
    $("after-sale-error").hidden = false;
    $("after-sale-error").textContent = message;
  }

  // -- addresses ---------------------------------------------------------------------------

  const ADDRESSABLE = ["awaiting_payment", "awaiting_balance", "paid"];
  const form = $("address-form");
  let addressFor = null;  // the order the dialog chooses an address for

  async function refreshAddresses() { state.addresses = (await api("GET", "/me/addresses")).addresses; }

  async function attachDefault(orderId) {  // checkout: the default address goes with the order
    const chosen = state.addresses[0];
    if (chosen) await api("PUT", `/orders/${orderId}/address`, { address_id: chosen.id });
    return Boolean(chosen);
  }

  async function openAddresses(orderId) {
    addressFor = orderId;
    await refreshAddresses();
    $("address-list").replaceChildren(...state.addresses.map((a) => el("li", "order",
      el("div", "", el("div", "row-title", `${a.recipient} ${a.phone}`), el("div", "dim", `${a.region} ${a.street}`)),
      el("div", "order-side", button(t("live.address_use"), () => useAddress(a.id), "small primary")))));
    if (!state.addresses.length) await showForm();
    else form.hidden = true;
    if (!$("address-dialog").open) $("address-dialog").showModal();
  }

  async function useAddress(id) {
    try {
      await api("PUT", `/orders/${addressFor}/address`, { address_id: id });
      $("address-dialog").close();
      toast(t("live.address_chosen"));
      await Promise.all([refreshOrders(), refreshAddresses()]);  // the pay buttons see it
    } catch (e) { toast(t("live.failed", { reason: e.message })); }
  }

  async function showForm() {
    form.hidden = false;
    if (!form.province.options.length) fill("province", (await api("GET", "/regions")).regions);
  }

  function fill(level, regions) {
    const select = form[level];
    const none = el("option", "", t("live.choose")); none.value = "";
    select.replaceChildren(none, ...regions.map((r) => { const o = el("option", "", r.name); o.value = r.code; o.dataset.leaf = r.leaf ? "1" : ""; return o; }));
    form.querySelector(`[data-level=${level}]`)?.toggleAttribute("hidden", !regions.length);
  }

  async function below(level, next) {  // a choice fills the level under it (cities or districts)
    const option = form[level].selectedOptions[0];
    for (const lower of next === "city" ? ["city", "district"] : ["district"]) fill(lower, []);
    if (!option || !option.value || option.dataset.leaf) return;
    const regions = (await api("GET", `/regions/${option.value}`)).regions;
    const cities = regions.filter((r) => r.code.endsWith("00"));
    if (next === "city" && !cities.length) fill("district", regions);  // a municipality: no cities
    else fill(next, regions);
  }

  function addressError(e) {
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    const field = e.field && form[e.field] ? e.field : null;
    if (field) form[field].setAttribute("aria-invalid", "true");
    $("address-error").hidden = false;
    $("address-error").textContent = field ? t("live.field_problem", { field: t("live.field_" + field), problem: e.message }) : e.message;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = Object.fromEntries(["recipient", "phone", "province", "city", "district", "street"].map((n) => [n, form[n].value]));
    try {
      const made = await api("POST", "/me/addresses", body);
      $("address-error").hidden = true;
      form.reset();
      await useAddress(made.id);
    } catch (err) { addressError(err); }
  });
  form.province.addEventListener("change", () => below("province", "city"));
  form.city.addEventListener("change", () => below("city", "district"));
  $("address-new").addEventListener("click", () => showForm());
  $("address-close").addEventListener("click", () => $("address-dialog").close());

  // -- groups ------------------------------------------------------------------------------

  function groupFacts(g) {
    if (g.status !== "open") {  // closed: formed at its price, or failed and refunded
      return [t("group_status." + g.status), g.status === "formed" ? t("live.group_formed_price", { price: yuan(g.price_fen) }) : t("status.group_failed")];
    }
    const parts = [t("live.group_progress", { members: g.members, paid: g.paid })];
    const short = (g.next_tier_min_members || 0) - g.paid;
    parts.push(!g.next_tier_min_members ? t("live.group_top_tier", { price: yuan(g.price_fen) })
      : g.tier_min_members === null ? t("live.group_to_form", { n: short })
        : t("live.group_next_tier", { n: short, price: yuan(g.next_tier_price_fen) }));
    parts.push(t("live.group_time_left", { time: span(Date.parse(g.expires_at) - clock.now()) }));
    return parts;
  }

  const mine = (code) => state.orders.some((o) => o.group_code === code && !["expired", "cancelled"].includes(o.status));

  function joinButton(code) {
    const entry = openOptions().find((o) => o.offer === "group");
    const join = button(t("live.join_group", { amount: yuan((entry ? entry.due_now_fen : 0) * state.qty) }),
      () => place({ mode: "group", group_code: code }, join), "small primary");
    join.disabled = !entry || !state.user;
    join.dataset.join = code;
    return join;
  }

  function renderGroups() {
    const rows = state.groups.filter((g) => !mine(g.code)).map((g) =>
      el("li", "order", el("div", "", el("div", "row-title code", t("live.group_line", { code: g.code })),
        el("div", "dim", groupFacts(g).join(" · "))), joinButton(g.code)));
    $("groups").replaceChildren(...(rows.length ? rows : [el("li", "dim", t("live.no_open_groups"))]));
  }

  function renderGroupCard(prefix, g) {
    // how far to the next price: the next tier's headcount, full once the lowest is reached
    const target = g.next_tier_min_members || g.paid;
    $(prefix + "-progress").textContent = groupFacts(g).join(" · ");
    $(prefix + "-bar").style.width = Math.min(100, (100 * g.paid) / Math.max(1, target)) + "%";
    if (prefix === "my-group") document.querySelector("#my-group .invite").hidden = g.status !== "open";
  }

  async function showInvite() {
    if (!state.invite) return;
    let g;
    try { g = await api("GET", `/groups/${encodeURIComponent(state.invite)}`); } catch (e) { return; }
    $("invite-card").hidden = mine(g.code);  // once joined, it is "my group" below
    $("invite-title").textContent = t("live.invited") + " · " + t("live.group_line", { code: g.code });
    renderGroupCard("invite", g);
    const open = g.status === "open" && Date.parse(g.expires_at) > clock.now();
    $("invite-actions").replaceChildren(mine(g.code) ? el("span", "good", t("group_status." + g.status))
      : open ? joinButton(g.code) : el("span", "dim", t("live.invite_closed")));
  }

  let feedHandle = null;
  function watchGroup(code) {
    if (!code || state.myGroup === code) return;
    state.myGroup = code;
    $("my-group").hidden = false;
    $("my-group-code").textContent = code;
    const link = `${location.origin}/live/${campaign.id}?group=${code}`;
    $("my-group-link").value = link;
    $("my-group-qr").src = `/api/v1/campaigns/${campaign.id}/qr.svg?group=${encodeURIComponent(code)}`;
    api("GET", `/groups/${code}`).then((g) => renderGroupCard("my-group", g)).catch(() => {});
    if (feedHandle) feedHandle.restart();
  }

  // -- inbox, banner, countdown -------------------------------------------------------------

  async function refreshInbox() {
    if (!state.user) return;
    const inbox = await api("GET", "/me/notifications");
    state.tag = inbox.tag;
    $("unread").hidden = !inbox.unread;
    $("unread").textContent = inbox.unread;
    const mineHere = inbox.notifications.filter((n) => n.campaign_id === campaign.id);
    $("notices").replaceChildren(...(mineHere.length ? mineHere.map((n) =>
      el("li", n.read ? "notice" : "notice unread", el("div", "", n.text), el("small", "dim", when(n.at_ms)))) : [el("li", "dim", t("live.inbox_empty"))]));
  }

  function showNotice(notice) {
    const banner = $("banner");
    banner.hidden = !notice || !notice.text;
    banner.textContent = notice && notice.text ? notice.text : "";
  }

  function tick() {  // to the end of this phase, or to the next 开抢
    const now = clock.now();
    const windows = campaign.windows || {};
    const current = windows[state.phase];
    const upcoming = Object.values(windows).map(([a]) => a).filter((a) => a > now);
    let label = null; let target = null;
    if (current && current[0] <= now && now < current[1]) {
      label = t("live.countdown_to_close", { phase: t("mode." + state.phase) }); target = current[1];
    } else if (upcoming.length) { label = t("live.countdown_to_open"); target = Math.min(...upcoming); }
    $("countdown").hidden = target === null;
    if (target !== null) { $("countdown-label").textContent = label; $("countdown-time").textContent = span(target - now); }
  }

  // -- refreshing ---------------------------------------------------------------------------

  async function refreshQuote() {
    state.quote = await api("GET", `/campaigns/${campaign.id}/quote`);
    renderPrice(); renderActions();
  }

  async function refreshOrders() {
    state.orders = (await api("GET", "/me/orders")).orders;
    renderOrders();
    const open = state.orders.find((o) => o.campaign_id === campaign.id && o.group_code && !["group_failed", "expired", "cancelled", "refunded"].includes(o.status));
    if (open) watchGroup(open.group_code);
  }

  async function refreshGroups() {
    if ($("groups-card").hidden) return;
    state.groups = (await api("GET", `/campaigns/${campaign.id}/groups`)).groups;
    renderGroups();
  }

  async function refreshAll() {
    if (!state.user) return;
    await Promise.allSettled([refreshQuote(), refreshOrders(), refreshInbox(), refreshAddresses()]);
    await Promise.allSettled([refreshGroups(), showInvite()]);
  }

  let ordersDue = null;
  function ordersSoon() {  // the feed says something changed: at most one refresh in 2 s
    if (ordersDue || !state.user) return;
    ordersDue = setTimeout(() => { ordersDue = null; refreshOrders().then(renderGroups).catch(() => {}); }, 2000);
  }

  function onFeed(m) {
    if (m.campaign_time) clock.sync(m.campaign_time);
    if (m.type === "inbox") {  // someone's notices are new: if one is mine, show it
      if (state.tag && (m.tags || []).includes(state.tag)) {
        refreshInbox().catch(() => {});
        toast(t("live.new_notice"));
      }
      return;
    }
    if (m.type === "notice") { showNotice(m.kind === "clear" ? null : m); refreshInbox().catch(() => {}); return; }
    if (m.type !== "snapshot") return;
    if (m.phase !== state.phase) {
      state.phase = m.phase;
      $("phase").textContent = t("phase." + m.phase);
      tick();
      refreshAll();
    }
    if (m.stock) $("stock").textContent = t("live.stock_left", { n: m.stock.remaining.toLocaleString("zh-CN") });
    showNotice(m.notice && m.notice.kind !== "clear" ? m.notice : null);
    const g = m.groups && state.myGroup && m.groups[state.myGroup];
    if (g) api("GET", `/groups/${state.myGroup}`).then((full) => renderGroupCard("my-group", full)).catch(() => {});
    if (state.seq && m.seq !== state.seq) ordersSoon();
    state.seq = m.seq;
  }

  // -- wiring ------------------------------------------------------------------------------

  $("qty-minus").addEventListener("click", () => { state.qty = Math.max(1, state.qty - 1); renderActions(); renderGroups(); });
  $("qty-plus").addEventListener("click", () => { state.qty += 1; renderActions(); renderGroups(); });
  $("join-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const code = $("join-code").value.trim().toUpperCase();
    if (code) place({ mode: "group", group_code: code });
  });
  $("my-group-copy").addEventListener("click", () => {
    navigator.clipboard.writeText($("my-group-link").value).then(() => toast(t("live.invite_copied")), () => $("my-group-link").select());
  });
  $("inbox-open").addEventListener("click", () => {
    $("inbox").showModal();
    refreshInbox().catch(() => {});
    api("GET", "/me/notice-settings").then((s) => { $("promotions").checked = s.promotions; }).catch(() => {});
  });
  $("promotions").addEventListener("change", (e) => {
    api("PUT", "/me/notice-settings", { promotions: e.target.checked }).catch(() => { e.target.checked = !e.target.checked; });
  });
  $("inbox-close").addEventListener("click", () => $("inbox").close());
  $("inbox-read").addEventListener("click", async () => { await api("POST", "/me/notifications/read", {}); refreshInbox(); });

  renderPrice(); renderActions(); tick();
  setInterval(tick, 1000);
  setInterval(() => refreshGroups().catch(() => {}), 5000);
  feedHandle = feed(() => `/ws/live/${campaign.id}` + (state.myGroup ? `?group=${state.myGroup}` : ""), {
    onMessage: onFeed,
    onUp: () => { if (!$("offline").hidden) { $("offline").hidden = true; toast(t("live.back_online")); refreshAll(); } },
    onDown: () => { $("offline").hidden = false; },
  });
  login().then((user) => { state.user = user; tellVisit("view"); return refreshAll(); })
    .catch((e) => toast(e.code === "unauthorized" ? t("live.login_needed") : t("live.failed", { reason: e.message })))
    .finally(() => { document.body.dataset.ready = "1"; });
})();

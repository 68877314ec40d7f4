// The ops big screen: one websocket, one snapshot at a time, every tile redrawn from it.
(() => {
  "use strict";
  const params = new URLSearchParams(location.search);
  const campaign = params.get("campaign") || "mid-autumn";
  const token = params.get("token") || "";
  const $ = (id) => document.getElementById(id);
  const yuan = (fen) => "¥" + (fen / 100).toLocaleString("zh-CN", { maximumFractionDigits: 0 });
  const pct = (x) => (x * 100).toFixed(1) + "%";
  const phases = { upcoming: "未开始", presale: "预售中", group: "拼团中", direct: "分销中", ended: "已结束" };
  // Elements from data, text always through textContent: never markup built from strings.
  const h = (tag, className, ...children) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) node.append(child);
    return node;
  };
  const bar = (left, right, fills) => h("div", "bar",
    h("div", "label", h("span", "", left), h("span", "", right)),
    h("div", "track", ...fills.map(([kind, width]) => {
      const fill = h("div", "fill " + kind);
      fill.style.width = width;
      return fill;
    })));

  const points = 120;
  const series = [[], []];
  const chart = new uPlot({
    width: 1180, height: 300, legend: { show: false },
    scales: { x: { time: true } },
    axes: [{ stroke: "#8a96b3", grid: { stroke: "#22304d" } }, { stroke: "#8a96b3", grid: { stroke: "#22304d" } }],
    series: [{}, { stroke: "#ffb020", width: 3, fill: "rgba(255,176,32,0.15)" }],
  }, series, $("chart"));

  let lastSeq = 0;
  function render(s) {
    if (s.type !== "snapshot" && s.type !== "heartbeat") return;  // notices are the live rooms'
    lastSeq = s.seq;
    $("phase").textContent = phases[s.phase] || s.phase;
    $("campaign-time").textContent = s.campaign_time.replace("T", " ").slice(0, 19);
    if (s.type !== "snapshot") return;
    $("ops").textContent = s.orders.per_second.toFixed(1);
    $("orders").textContent = s.orders.accepted.toLocaleString();
    $("gmv").textContent = yuan(s.gmv_paid_fen);
    $("refunds").textContent = yuan(s.refunds_fen);
    $("deposits-paid").textContent = s.deposits.paid.toLocaleString();
    $("deposits-placed").textContent = s.deposits.placed.toLocaleString();
    $("deposit-rate").textContent = pct(s.deposits.payment_rate);
    $("balances").textContent = s.balances_paid.toLocaleString();
    $("converted").textContent = s.depositors.converted.toLocaleString();
    $("notified").textContent = s.depositors.notified.toLocaleString();
    $("dist-share").textContent = pct(s.orders.via_distributor_share);
    $("sold-out").textContent = s.orders.sold_out_refusals.toLocaleString();
    $("recruited").textContent = s.distributors.recruited.toLocaleString();
    $("recruited-recent").textContent = s.distributors.last_10_min.toLocaleString();
    $("g-open").textContent = s.groups.open; $("g-formed").textContent = s.groups.formed;
    $("g-failed").textContent = s.groups.failed; $("g-avg").textContent = s.groups.average_size;
    $("stock-total").textContent = `剩余 ${s.stock.remaining.toLocaleString()} / ${s.stock.total.toLocaleString()} 盒`;
    $("pools").replaceChildren(...Object.entries(s.stock.pools).map(([name, p]) => {
      const total = Math.max(1, p.remaining + p.reserved + p.sold);
      const w = (n) => (100 * n / total).toFixed(2) + "%";
      const label = { presale: "预售预留", group: "拼团", distribution: "分销" }[name] || name;
      return bar(label, `剩 ${p.remaining} · 锁 ${p.reserved} · 售 ${p.sold}`,
        [["sold", w(p.sold)], ["reserved", w(p.reserved)]]);
    }));
    $("leading").replaceChildren(...s.groups.leading.map((g) =>
      bar(`团 ${g.code}`, `${g.members} 人`, [["group", Math.min(100, g.members * 4) + "%"]])));
    $("leaders").replaceChildren(...s.distributors.top.map((d) => h("li", "", `${d.code} · ${d.units} 盒`)));
    series[0].push(s.server_time); series[1].push(s.orders.per_second);
    if (series[0].length > points) { series[0].shift(); series[1].shift(); }
    chart.setData(series);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/dashboard/${campaign}?token=${encodeURIComponent(token)}&since=${lastSeq}`);
    ws.onopen = () => $("link-state").classList.add("up");
    ws.onmessage = (e) => render(JSON.parse(e.data));
    ws.onclose = () => { $("link-state").classList.remove("up"); setTimeout(connect, 1000); };
  }
  window.liveroomScreen = { lastSeq: () => lastSeq };
  connect();
})();

// 晒单: a buyer with a paid order posts text and up to nine photos for ops to approve, and
// sees where each of theirs stands; everyone sees the approved ones.
(() => {
  "use strict";
  const { campaign, t, el, when, api, login, toast } = Viewer;
  const $ = (id) => document.getElementById(id);
  const form = $("post-form");
  const MAX_IMAGES = 9;

  function thumbs(m) {
    const row = el("div", "thumbs");
    for (let n = 1; n <= m.images; n++) {
      const img = document.createElement("img");
      img.src = `/api/v1/campaigns/${campaign.id}/materials/${m.material_id}/images/${n}.thumb.jpg`;
      img.alt = t("posts.image_alt", { n });
      img.loading = "lazy";
      row.append(img);
    }
    return row;
  }

  function renderMine(posts) {
    $("mine-card").hidden = !posts.length;
    $("mine").replaceChildren(...posts.map((p) => {
      const facts = el("div", "", el("div", "post-text", p.text || t("posts.photos_only", { n: p.images })),
        el("div", "dim", `${when(p.created_at_ms)} · ${t("posts.image_count", { n: p.images })}`));
      if (p.reason) facts.append(el("div", "bad", t("posts.reason", { reason: p.reason })));
      const item = el("li", "order", facts, el("span", p.status === "approved" ? "good" : "dim", t("material_status." + p.status)));
      item.dataset.post = p.material_id;
      return item;
    }));
  }

  function renderShowcase(materials) {
    const posts = materials.filter((m) => m.kind === "post");
    if (!posts.length) return;
    $("showcase").replaceChildren(...posts.map((m) => {
      const item = el("li", "post", el("div", "post-text", m.text), thumbs(m));
      item.dataset.material = m.material_id;
      return item;
    }));
  }

  async function refresh() {
    const [mine, library] = await Promise.all([
      api("GET", `/campaigns/${campaign.id}/posts/mine`),
      api("GET", `/campaigns/${campaign.id}/materials`),
    ]);
    $("post-card").hidden = !mine.may_post;  // the server's rule, not a copy of it here
    $("not-yet").hidden = mine.may_post;
    renderMine(mine.posts);
    renderShowcase(library.materials);
  }

  function showError(message) {
    $("post-error").hidden = !message;
    $("post-error").textContent = message || "";
  }

  form.images.addEventListener("change", () => {
    const n = form.images.files.length;
    $("image-count").textContent = n ? t("live.photos_chosen", { n }) : "";
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (form.images.files.length > MAX_IMAGES) { showError(t("errors.too_many_images")); return; }
    if (!form.text.value.trim() && !form.images.files.length) { showError(t("posts.empty")); return; }
    showError(null);
    $("post-send").disabled = true;
    try {
      await api("POST", `/campaigns/${campaign.id}/posts`, new FormData(form));
      form.reset();
      $("image-count").textContent = "";
      toast(t("posts.sent"));
      await refresh();
    } catch (err) { showError(err.message); }
    finally { $("post-send").disabled = false; }
  });

  login().then(refresh).catch((e) => toast(e.code === "unauthorized" ? t("live.login_needed") : t("live.failed", { reason: e.message })))
    .finally(() => { document.body.dataset.ready = "1"; });
})();

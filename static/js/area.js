// The area list follows the chosen country and gets a search box.
(() => {
  "use strict";
  const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  const enhance = (area) => {
    const land = document.getElementById(area.dataset.areaOf);
    if (!land || area.dataset.ready) return;
    area.dataset.ready = 1;
    const box = area.closest("[data-area-box],.field");
    const later = document.getElementById(area.id + "-later");
    const all = [...area.options].filter((o) => o.value)
      .map((o) => [o.value, o.text, o.parentNode.label || ""]);
    const find = document.createElement("input");
    const label = document.createElement("label");
    find.type = "search";
    find.id = label.htmlFor = area.id + "-search";
    find.setAttribute("aria-controls", area.id);
    label.textContent = area.dataset.searchLabel;
    area.before(label, find);
    const render = () => {
      const code = land.value, words = fold(find.value), kept = area.value, groups = {};
      const known = !code || all.some((a) => a[0].startsWith(code + "-"));
      area.textContent = "";
      area.add(new Option("", ""));
      for (const [value, text, group] of all) {
        if (code && !value.startsWith(code + "-")) continue;
        if (value !== kept && !fold(text + " " + value).includes(words)) continue;
        let to = area;
        if (!code && group && !(to = groups[group])) {
          to = groups[group] = document.createElement("optgroup");
          to.label = group;
          area.append(to);
        }
        to.append(new Option(text, value, false, value === kept));
      }
      box.hidden = !known;
      if (later) later.hidden = known;
    };
    land.addEventListener("change", render);
    find.addEventListener("input", render);
    area.addEventListener("change", () => {
      if (!land.value && area.value) {
        land.value = area.value.split("-")[0];
        render();
      }
    });
    render();
  };
  document.querySelectorAll("select[data-area-of]").forEach(enhance);
})();

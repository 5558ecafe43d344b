// The chat page's behaviour, added to the page's <head> (kbqa.ui.app): source cards, plain-text copy, labels.
// Clicking an [n] marker opens source card n of the same answer and brings it into view.
// The copy button copies the message's plain text (Gradio's own button would copy its HTML).
// Gradio labels each message "bot's message: <its content>", which for our messages is markup: the label is
// replaced by the plain text the message carries in data-kbqa-plain, whenever the chat changes.
document.addEventListener("click", (event) => {
  const cite = event.target.closest && event.target.closest("a.kbqa-cite");
  if (!cite) return;
  event.preventDefault();
  const answer = cite.closest(".kbqa-answer");
  const card = answer && answer.querySelector(`details.kbqa-card[data-n="${cite.dataset.n}"]`);
  if (!card) return;
  card.open = true;
  card.classList.add("kbqa-flash");
  setTimeout(() => card.classList.remove("kbqa-flash"), 1200);
  card.scrollIntoView({block: "nearest"});
});
document.addEventListener("click", async (event) => {
  const button = event.target.closest && event.target.closest("button.kbqa-copy");
  if (!button) return;
  event.preventDefault();
  event.stopPropagation();
  const text = button.dataset.copy || "";
  try {
    await navigator.clipboard.writeText(text);
  } catch (error) {  // no clipboard API (a page served over plain http to another machine): the old way
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
}, true);
// An opened card scrolls its document context to the passage.
document.addEventListener("toggle", (event) => {
  const card = event.target;
  if (!card.classList || !card.classList.contains("kbqa-card") || !card.open) return;
  const box = card.querySelector(".kbqa-context");
  const passage = box && box.querySelector(".kbqa-passage");
  if (passage) box.scrollTop = passage.offsetTop - box.offsetTop - 24;
}, true);
function kbqaLabelMessages() {
  for (const content of document.querySelectorAll("#kbqa-chat [data-kbqa-plain]")) {
    const message = content.parentElement && content.parentElement.closest("[aria-label]");
    if (!message) continue;
    const role = message.getAttribute("data-testid") === "user" ? "You" : "Assistant";
    const label = `${role}: ${content.dataset.kbqaPlain}`;
    if (message.getAttribute("aria-label") !== label) message.setAttribute("aria-label", label);
  }
}
new MutationObserver(kbqaLabelMessages).observe(document.documentElement, {
  subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["aria-label"],
});

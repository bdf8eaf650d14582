/**
 * stylegraph's page: start a run, watch it paint, browse the gallery.
 * Routes live in the hash: `#/` (new run), `#/runs/<id>` (watch a run),
 * `#/compare/<id>,<id>,...` and `#/sweep/<param>/<id>,...` (runs side by side, compare.ts).
 */
import './style.css';
import { apiToken, listPresets, serviceInfo, setApiToken, UNAUTHENTICATED_EVENT, type Run } from './api';
import { CompareSelection, CompareView, comparisonOfHash } from './compare';
import { h } from './dom';
import { RunForm } from './form';
import { Gallery } from './gallery';
import { RunView } from './run-view';

const main = document.getElementById('main')!;

const welcome = h('section', { class: 'panel welcome', 'aria-labelledby': 'welcome-title' },
  h('h2', { class: 'panel-title', id: 'welcome-title' }, 'Watch a picture take on a style'),
  h('ol', { class: 'steps' },
    h('li', {}, h('strong', {}, 'Content'), ' — the photo to repaint.'),
    h('li', {}, h('strong', {}, 'Style'), ' — one or more paintings to borrow from.'),
    h('li', {}, h('strong', {}, 'Start'), ' — the preview repaints after every epoch while the loss curves fall.')),
  h('p', { class: 'welcome-hint' }, 'Small sizes and few steps give a first look in seconds; open any run in the gallery to replay its epochs.'));

const runView = new RunView({
  clone: (run) => form.cloneFrom(run),
  deleted: (runId) => {
    gallery.remove(runId);
    navigate('#/');
  },
  changed: (run) => gallery.update(run),
});

const form = new RunForm((run: Run) => {
  navigate(`#/runs/${run.id}`, true);
  void gallery.reload();
});

const compareView = new CompareView({ navigate: (hash) => navigate(hash, true), changed: (run) => gallery.update(run) });
const compareSelection = new CompareSelection((hash) => navigate(hash, true));

const gallery = new Gallery({
  open: (run) => navigate(`#/runs/${run.id}`, true),
  clone: (run) => form.cloneFrom(run),
  images: (images) => form.setRecentImages(images),
  compareControls: (run) => compareSelection.cardControls(run),
});
gallery.element.append(compareSelection.bar);

/** A server with STYLEGRAPH_AUTH=required wants a bearer token: asked for when it refuses one, kept in this browser. */
function tokenPanel(): HTMLElement {
  const input = h('input', { id: 'api-token', name: 'apiToken', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const form = h('form', { class: 'token-form' },
    h('div', { class: 'field' }, h('label', { for: 'api-token' }, 'API token'), input),
    h('button', { type: 'submit', class: 'button button-primary' }, 'Use this token'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    setApiToken(input.value.trim());
    location.reload();
  });
  return h('section', { class: 'panel token-panel', role: 'alert', 'aria-labelledby': 'token-title', hidden: true },
    h('h2', { class: 'panel-title', id: 'token-title' }, apiToken() ? 'The saved API token was refused' : 'This server needs an API token'),
    h('p', {}, 'Ask its operator for one (', h('code', {}, 'stylegraph tokens create'), '). It is kept in this browser only.'),
    form);
}

const tokenBox = tokenPanel();
window.addEventListener(UNAUTHENTICATED_EVENT, () => {
  if (!tokenBox.hidden) return;
  tokenBox.hidden = false;
  tokenBox.scrollIntoView({ block: 'start' });
  tokenBox.querySelector('input')!.focus({ preventScroll: true });
});
if (apiToken()) {
  document.querySelector('.topnav')!.append(h('button', {
    type: 'button', class: 'link-button', onclick: () => {
      setApiToken(null);
      location.reload();
    },
  }, 'Forget token'));
}

main.append(
  h('div', { class: 'col col-token' }, tokenBox),
  h('div', { class: 'col col-form' }, h('section', { class: 'panel' }, form.element)),
  h('div', { class: 'col col-run' }, welcome, runView.element, compareView.element),
  h('div', { class: 'col col-gallery' }, gallery.element));

/** After Open or Start (`showRun`) the run view is brought into view and its heading focused: the user's next step is there. */
let showRunNext = false;

function navigate(hash: string, showRun = false): void {
  showRunNext = showRun;
  if (location.hash === hash) route();
  else location.hash = hash;
}

let openedId: string | undefined;

function route(): void {
  // `#/compare/...` and `#/sweep/...`: the comparison takes the run view's place.
  const comparison = comparisonOfHash(location.hash);
  compareView.show(comparison);
  if (comparison) {
    openedId = undefined;
    runView.hide();
    welcome.hidden = true;
    gallery.select(undefined);
    document.body.dataset.route = 'compare';
    if (showRunNext) compareView.bringIntoView();
    showRunNext = false;
    return;
  }
  const match = /^#\/runs\/([^/?#]+)/.exec(location.hash);
  const runId = match ? decodeURIComponent(match[1]) : undefined;
  gallery.select(runId);
  document.body.dataset.route = runId ? 'run' : 'new';
  if (!runId) {
    openedId = undefined;
    runView.hide();
    welcome.hidden = false;
    return;
  }
  welcome.hidden = true;
  if (openedId !== runId) {
    openedId = runId;
    void runView.open(runId);
  }
  if (showRunNext) {
    showRunNext = false;
    runView.bringIntoView();
  } else if (window.matchMedia('(max-width: 899px)').matches) {
    // On a phone the run sits below the form: bring it into view.
    runView.element.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }
}

document.querySelector('[data-nav="gallery"]')!.addEventListener('click', () => {
  gallery.element.scrollIntoView({ behavior: 'smooth', block: 'start' });
});
window.addEventListener('hashchange', route);
route();
void gallery.reload();
serviceInfo().then((info) => form.setServiceInfo(info), () => undefined);
listPresets().then((presets) => form.setPresets(presets), () => undefined);

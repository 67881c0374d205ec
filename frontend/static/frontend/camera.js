// The counter's camera scanner: reads a QR code (a booking's /r/<code> or a unit label's /u/<tag>)
// with the device camera and submits it through the same form as the handheld scanner.
//
// The decoder is zxing-wasm (ZXing C++ as WebAssembly), vendored into our static files at set-up
// (`make`); it is only fetched on the first click. Its default would load the .wasm from jsDelivr,
// so locateFile points it at our own copy: no request ever leaves for a third party.
// The library's URLs and the translated messages come from data attributes of #camera-panel.

const form = document.getElementById("scan-form");
const input = document.getElementById("scan-input");
const button = document.getElementById("camera-button");
const panel = document.getElementById("camera-panel");
const video = document.getElementById("camera-video");
const statusLine = document.getElementById("camera-status");
const stopButton = document.getElementById("camera-stop");

const SCAN_INTERVAL_MS = 200; // five looks a second: quick enough at the counter, easy on batteries
const MAX_FRAME_WIDTH = 1280; // larger frames only slow the decoder down

let reader = null; // the promise of the loaded library, shared by every start
let stream = null;
let run = 0; // bumped by every stop, so a start or scan loop that outlived its run gives up

let said = 0;

function say(key) {
  // Set a moment after the panel appears: a live region changed in the same tick as it is
  // un-hidden is often not announced by screen readers.
  const text = panel.dataset[key] || "";
  const token = ++said;
  window.setTimeout(() => {
    if (token === said) statusLine.textContent = text;
  }, 50);
}

function loadReader() {
  reader ??= (async () => {
    const zxing = await import(panel.dataset.readerModule);
    const wasmUrl = new URL(panel.dataset.readerWasm, document.baseURI).href;
    await zxing.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path) },
      fireImmediately: true,
    });
    return zxing;
  })().catch((error) => {
    reader = null; // let the next click try again
    const failure = new Error("the QR decoder could not be loaded", { cause: error });
    failure.name = "ReaderError";
    throw failure;
  });
  return reader;
}

function messageFor(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "msgDenied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "msgNoCamera";
    case "NotReadableError":
    case "AbortError":
      return "msgBusy";
    case "ReaderError":
      return "msgNoReader";
    default:
      return "msgFailed";
  }
}

function stopCamera() {
  run += 1;
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  video.srcObject = null;
  button.setAttribute("aria-expanded", "false");
}

function close() {
  stopCamera();
  panel.hidden = true;
  input.focus();
}

async function start() {
  if (stream) return;
  stopCamera();
  const thisRun = run;
  panel.hidden = false;
  button.setAttribute("aria-expanded", "true");
  say("msgStarting");
  const ready = loadReader(); // fetch the library while the browser asks for the camera
  ready.catch(() => {}); // (handled below; this only keeps the console free of "unhandled")
  try {
    const media = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" } },
      audio: false,
    });
    if (thisRun !== run) {
      media.getTracks().forEach((track) => track.stop()); // stopped while the browser was asking
      return;
    }
    stream = media;
    video.srcObject = stream;
    await video.play();
    const zxing = await ready;
    if (thisRun !== run) return;
    say("msgScanning");
    await scan(zxing, thisRun);
  } catch (error) {
    if (thisRun !== run) return;
    stopCamera();
    say(messageFor(error));
    console.error(error);
  }
}

async function scan(zxing, thisRun) {
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  while (thisRun === run) {
    if (video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth) {
      const scale = Math.min(1, MAX_FRAME_WIDTH / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const frame = context.getImageData(0, 0, canvas.width, canvas.height);
      const results = await zxing.readBarcodes(frame, { formats: ["QRCode"], maxNumberOfSymbols: 1 });
      const text = results.find((result) => result.isValid && result.text)?.text;
      if (text && thisRun === run) {
        stopCamera();
        say("msgFound");
        input.value = text;
        form.requestSubmit();
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, SCAN_INTERVAL_MS));
  }
}

if (form && button && panel && navigator.mediaDevices?.getUserMedia) {
  button.hidden = false;
  button.setAttribute("aria-controls", panel.id);
  button.setAttribute("aria-expanded", "false");
  button.addEventListener("click", start);
  stopButton.addEventListener("click", close);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      close();
    }
  });
  // Never leave the camera on behind the user's back (another tab, back/forward cache).
  document.addEventListener("visibilitychange", () => {
    if (document.hidden && stream) close();
  });
  window.addEventListener("pagehide", stopCamera);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) panel.hidden = true; // back from the booking: no stale "Code found"
  });
}

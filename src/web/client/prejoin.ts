import {
  acquireLocalMedia,
  type DeviceKind,
  listDevices,
  type LocalMedia,
  openDevice,
} from './local-media';
import { prejoinForm } from './ui';
import { create, element, toast } from './ui-elements';

/** What the participant settled on before joining. */
export interface PrejoinChoice {
  /** Absent when a join token names the participant. */
  displayName?: string;
  media: LocalMedia;
  micOn: boolean;
  cameraOn: boolean;
}

export interface PrejoinOptions {
  /** Ask for a display name (no join token names the participant). */
  askName: boolean;
  initialName: string;
  /** The devices chosen last time, by kind, and the speaker. */
  remembered: Partial<Record<DeviceKind | 'audiooutput', string>>;
  /** A device was chosen: remember it for next time. */
  chosen(kind: DeviceKind | 'audiooutput', deviceId: string): void;
}

/** How often the microphone level is read (a timer: background pages skip animation frames). */
const METER_INTERVAL_MS = 100;

/** The loudness of a track, 0..1, read from an analyser while the meter runs. */
class MicLevelMeter {
  private context?: AudioContext;
  private timer?: ReturnType<typeof setInterval>;

  start(track: MediaStreamTrack | undefined, show: (level: number) => void) {
    this.stop();
    if (!track) return show(0);
    const context = new AudioContext();
    this.context = context;
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      // RMS of speech is around 0.05-0.2: scaled so that talking fills most of the bar.
      show(track.enabled ? Math.min(1, Math.sqrt(sum / samples.length) * 5) : 0);
    }, METER_INTERVAL_MS);
  }

  stop() {
    clearInterval(this.timer);
    void this.context?.close().catch(() => undefined);
    this.context = undefined;
  }
}

/**
 * The pre-join screen: camera preview, microphone level, device choice (remembered),
 * joining muted or with the camera off, and the display name. Resolves when the
 * participant presses Join, with the devices still open for the call.
 */
export async function showPrejoin(room: string, options: PrejoinOptions): Promise<PrejoinChoice> {
  const submitted = prejoinForm(room, options.askName ? 'name' : 'nothing', {
    initial: options.initialName,
    withMedia: true,
  });
  const media = await acquireLocalMedia(options.remembered);
  const state = { micOn: !!media.mic, cameraOn: !!media.camera };
  const meter = new MicLevelMeter();
  const preview = element('preview');
  const video = preview.querySelector('video')!;
  const levelBar = element('mic-level');
  const notice = element('prejoin-notice');
  notice.textContent = media.problem?.replace('joined', 'you can join') ?? '';
  notice.hidden = !media.problem;

  const show = () => {
    preview.classList.toggle('video-off', !media.camera || !state.cameraOn);
    if (video.srcObject !== null && !media.camera) video.srcObject = null;
    if (media.camera && (video.srcObject as MediaStream | null)?.getTracks()[0] !== media.camera) {
      video.srcObject = new MediaStream([media.camera]);
      video.play().catch(() => undefined);
    }
    if (media.mic) media.mic.enabled = state.micOn;
    if (media.camera) media.camera.enabled = state.cameraOn;
    toggle('prejoin-mic', !!media.mic, state.micOn, 'Microphone');
    toggle('prejoin-camera', !!media.camera, state.cameraOn, 'Camera');
  };
  const toggle = (id: string, present: boolean, on: boolean, what: string) => {
    const button = element<HTMLButtonElement>(id);
    button.disabled = !present;
    button.setAttribute('aria-pressed', String(present && on));
    button.textContent = !present ? `No ${what.toLowerCase()}` : `${what} ${on ? 'on' : 'off'}`;
  };
  element('prejoin-mic').onclick = () => {
    state.micOn = !state.micOn;
    show();
  };
  element('prejoin-camera').onclick = () => {
    state.cameraOn = !state.cameraOn;
    show();
  };

  const fillDevices = async () => {
    const devices = await listDevices();
    const fill = (id: string, kind: MediaDeviceKind, current: string | undefined) => {
      const select = element<HTMLSelectElement>(id);
      const ofKind = devices.filter((device) => device.kind === kind);
      select.replaceChildren(
        ...ofKind.map((device, index) => {
          const option = create('option', undefined, device.label || `${kind} ${index + 1}`);
          option.value = device.deviceId;
          option.selected = device.deviceId === current;
          return option;
        }),
      );
      select.disabled = ofKind.length === 0;
    };
    fill('prejoin-camera-select', 'videoinput', media.camera?.getSettings().deviceId);
    fill('prejoin-mic-select', 'audioinput', media.mic?.getSettings().deviceId);
    fill('prejoin-speaker-select', 'audiooutput', options.remembered.audiooutput);
    element('prejoin-speaker-select').hidden = !('setSinkId' in HTMLAudioElement.prototype);
  };
  const chooser = (id: string, kind: DeviceKind) => {
    element<HTMLSelectElement>(id).onchange = async (event) => {
      const deviceId = (event.target as HTMLSelectElement).value;
      try {
        const track = await openDevice(kind, deviceId);
        const old = kind === 'audioinput' ? media.mic : media.camera;
        if (kind === 'audioinput') media.mic = track;
        else media.camera = track;
        old?.stop();
        if (!old) state[kind === 'audioinput' ? 'micOn' : 'cameraOn'] = true;
        options.chosen(kind, deviceId);
        show();
        if (kind === 'audioinput') meter.start(media.mic, showLevel);
      } catch (error) {
        toast(`Could not use that device: ${error instanceof Error ? error.message : error}`);
        await fillDevices();
      }
    };
  };
  chooser('prejoin-camera-select', 'videoinput');
  chooser('prejoin-mic-select', 'audioinput');
  element<HTMLSelectElement>('prejoin-speaker-select').onchange = (event) =>
    options.chosen('audiooutput', (event.target as HTMLSelectElement).value);

  const showLevel = (level: number) => {
    levelBar.style.width = `${Math.round(level * 100)}%`;
    levelBar.dataset.level = level.toFixed(3);
  };
  show();
  meter.start(media.mic, showLevel);
  await fillDevices();

  const name = await submitted;
  meter.stop();
  video.srcObject = null;
  return {
    displayName: options.askName ? name : undefined,
    media,
    micOn: state.micOn,
    cameraOn: state.cameraOn,
  };
}

/** The camera and microphone this browser contributes, or none (receive-only). */
export interface LocalMedia {
  mic?: MediaStreamTrack;
  camera?: MediaStreamTrack;
  /** Why some device is missing, for a notice; absent when both are there. */
  problem?: string;
}

const AUDIO: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

const VIDEO: MediaTrackConstraints = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30, max: 30 },
};

/** The devices a participant picks: microphone and camera (speakers are the view's). */
export type DeviceKind = 'audioinput' | 'videoinput';

/** Screens change slowly and must stay sharp: a low frame rate leaves bits for detail. */
const SCREEN: MediaTrackConstraints = { frameRate: { ideal: 15, max: 15 } };

const describe = (error: unknown) =>
  error instanceof DOMException && error.name === 'NotAllowedError'
    ? 'permission was denied'
    : error instanceof Error
      ? error.name
      : String(error);

/**
 * Asks for camera and microphone, then for either alone, so a missing or refused device
 * still lets the participant in with whatever remains (or receive-only).
 */
export async function acquireLocalMedia(
  preferred: Partial<Record<DeviceKind, string>> = {},
): Promise<LocalMedia> {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { problem: 'Camera and microphone need a secure (https) page: joined receive-only.' };
  }
  const exact = (kind: DeviceKind) => preferred[kind] && { deviceId: { exact: preferred[kind] } };
  const audio = { ...AUDIO, ...exact('audioinput') };
  const video = { ...VIDEO, ...exact('videoinput') };
  const attempts: MediaStreamConstraints[] = [
    { audio, video },
    // A remembered device that is gone is no reason to have none.
    ...(preferred.audioinput || preferred.videoinput ? [{ audio: AUDIO, video: VIDEO }] : []),
    { audio: AUDIO },
    { video: VIDEO },
  ];
  let lastError: unknown;
  for (const constraints of attempts) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      const mic = stream.getAudioTracks()[0];
      const camera = stream.getVideoTracks()[0];
      const missing = !mic ? 'microphone' : !camera ? 'camera' : undefined;
      return { mic, camera, problem: missing && `No ${missing} available: joined without it.` };
    } catch (error) {
      lastError = error;
      if (error instanceof DOMException && error.name === 'NotAllowedError') break;
    }
  }
  return { problem: `No camera or microphone (${describe(lastError)}): joined receive-only.` };
}

export function stopLocalMedia(media: LocalMedia | undefined): void {
  media?.mic?.stop();
  media?.camera?.stop();
}

/** A track of the chosen microphone or camera. */
export async function openDevice(kind: DeviceKind, deviceId: string): Promise<MediaStreamTrack> {
  const constraints = { ...(kind === 'audioinput' ? AUDIO : VIDEO), deviceId: { exact: deviceId } };
  const stream = await navigator.mediaDevices.getUserMedia(
    kind === 'audioinput' ? { audio: constraints } : { video: constraints },
  );
  return stream.getTracks()[0];
}

/** What the participant picks to share (the browser asks); text-sharp, no audio. */
export async function acquireScreen(): Promise<MediaStreamTrack> {
  if (!navigator.mediaDevices?.getDisplayMedia) {
    throw new Error('this browser cannot share a screen');
  }
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: SCREEN, audio: false });
  const track = stream.getVideoTracks()[0];
  track.contentHint = 'detail';
  return track;
}

/** The microphones, cameras and speakers the browser offers (labelled once permitted). */
export async function listDevices(): Promise<MediaDeviceInfo[]> {
  return (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
}

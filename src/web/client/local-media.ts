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
export async function acquireLocalMedia(): Promise<LocalMedia> {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { problem: 'Camera and microphone need a secure (https) page: joined receive-only.' };
  }
  const attempts: MediaStreamConstraints[] = [
    { audio: AUDIO, video: VIDEO },
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

// Uploads exactly as an API client does: POST /images for a pre-signed form, then a multipart
// POST of every signed field followed by the file. XHR (not fetch) because only XHR reports
// upload progress.

import { api } from './api.js';

export async function uploadFile(file, onProgress) {
  const ticket = await api('POST', '/images', {
    name: file.name,
    contentType: file.type || undefined,
  });
  const { uploadUrl, formFields } = ticket.formConfig;
  const form = new FormData();
  for (const [k, v] of Object.entries(formFields)) form.append(k, v);
  form.append('file', file);
  await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', uploadUrl);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      let msg = `${xhr.status} ${xhr.statusText}`;
      try {
        msg = JSON.parse(xhr.responseText).message || msg;
      } catch {
        /* keep the status line */
      }
      reject(new Error(msg));
    };
    xhr.onerror = () => reject(new Error('network error'));
    xhr.send(form);
  });
  onProgress(1);
  return ticket.id;
}

//! The bytes of one object: a multipart upload that sends parts as they fill (at most
//! [`PARTS_IN_FLIGHT`] at once) and aborts itself unless finished, and a reader over a download.

use super::*;

pub(super) struct S3Writer {
    pub(super) client: Arc<AmazonS3>,
    pub(super) rt: &'static Runtime,
    pub(super) path: ObjectPath,
    pub(super) upload_id: String,
    pub(super) buffer: Vec<u8>,
    /// Parts on their way, oldest first, with their index in `parts`.
    pub(super) in_flight: VecDeque<(usize, JoinHandle<object_store::Result<PartId>>)>,
    pub(super) parts: Vec<Option<PartId>>,
    /// A part failed: finishing without it could complete a cut object that looks whole
    /// (object_store numbers the parts it is given 1..n), so the upload can only be aborted.
    pub(super) failed: bool,
    pub(super) done: bool,
    pub(super) config: S3Config,
}

/// Why a writer refuses more bytes or to finish.
#[derive(Debug, thiserror::Error)]
#[error("a part of this upload failed before, so it cannot go on (it is aborted)")]
struct EarlierPartFailed;

impl S3Writer {
    fn send_part(&mut self) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_SIZE));
        let index = self.parts.len();
        self.parts.push(None);
        let (client, path, id) = (
            self.client.clone(),
            self.path.clone(),
            self.upload_id.clone(),
        );
        let payload = PutPayload::from(Bytes::from(data));
        let handle = self
            .rt
            .spawn(async move { client.put_part(&path, &id, index, payload).await });
        self.in_flight.push_back((index, handle));
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn wait_oldest(&mut self) -> io::Result<()> {
        let Some((index, handle)) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let part = match self.rt.block_on(handle) {
            Ok(Ok(part)) => part,
            Ok(Err(e)) => {
                self.failed = true;
                return Err(io::Error::other(e));
            }
            Err(e) => {
                self.failed = true;
                return Err(io::Error::other(e));
            }
        };
        self.parts[index] = Some(part);
        Ok(())
    }

    fn earlier_failure(&self) -> StoreError {
        StoreError::Io {
            target: describe(&self.config),
            source: io::Error::other(EarlierPartFailed),
        }
    }

    fn complete(&mut self) -> Result<(), StoreError> {
        if self.failed {
            return Err(self.earlier_failure());
        }
        if !self.buffer.is_empty() || self.parts.is_empty() {
            self.send_part().map_err(|e| self.part_error(e))?;
        }
        while !self.in_flight.is_empty() {
            self.wait_oldest().map_err(|e| self.part_error(e))?;
        }
        let parts: Option<Vec<PartId>> = self.parts.iter().cloned().collect();
        let Some(parts) = parts else {
            return Err(self.earlier_failure());
        };
        self.rt
            .block_on(
                self.client
                    .complete_multipart(&self.path, &self.upload_id, parts),
            )
            .map(|_| ())
            .map_err(|e| classify(e, &self.config, false))
    }

    /// A failed part in words: the store's error when there is one.
    fn part_error(&self, error: io::Error) -> StoreError {
        match error.downcast::<object_store::Error>() {
            Ok(source) => classify(source, &self.config, false),
            Err(source) => StoreError::Io {
                target: describe(&self.config),
                source,
            },
        }
    }

    fn abort_now(&mut self) {
        // Parts still on their way are stopped and waited for first: a part that lands after
        // the abort would keep storage (AWS says so) on a store that allows it.
        for (_, handle) in &self.in_flight {
            handle.abort();
        }
        for (_, handle) in self.in_flight.drain(..) {
            let _ = self.rt.block_on(handle);
        }
        let _ = self
            .rt
            .block_on(self.client.abort_multipart(&self.path, &self.upload_id));
    }
}

impl Write for S3Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other(EarlierPartFailed));
        }
        let room = PART_SIZE - self.buffer.len();
        let n = room.min(buf.len());
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() == PART_SIZE {
            self.send_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter for S3Writer {
    fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        self.done = true;
        let result = self.complete();
        if result.is_err() {
            self.abort_now();
        }
        result
    }

    fn abort(mut self: Box<Self>) {
        self.done = true;
        self.abort_now();
    }

    fn upload_id(&self) -> Option<String> {
        Some(self.upload_id.clone())
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        if !self.done {
            self.abort_now();
        }
    }
}

/// Reads an object's bytes as they arrive.
pub(super) struct S3Reader {
    pub(super) rt: &'static Runtime,
    pub(super) stream: futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>,
    pub(super) current: Bytes,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rt.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

//! The benchmarks' HTTP client: awc (actix's own client) on one thread,
//! with keep-alive connections to the server under test.

use std::time::Duration;

use actix_web::web::Bytes;
use serde_json::Value;

#[derive(Clone)]
pub struct Api {
    client: awc::Client,
    base: String,
}

/// An answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("an answer that is not JSON: {e}"))
    }
}

impl Api {
    pub fn new(base: &str, connections: usize) -> Api {
        let connector = awc::Connector::new().limit(connections.max(1));
        Api {
            client: awc::Client::builder()
                .connector(connector)
                .timeout(Duration::from_secs(120))
                .finish(),
            base: base.to_string(),
        }
    }

    /// POSTs a JSON body already serialised.
    pub async fn post_bytes(&self, path: &str, token: &str, body: Bytes) -> Result<Answer, String> {
        let mut response = self
            .client
            .post(format!("{}{path}", self.base))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("Content-Type", "application/json"))
            .send_body(body)
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let body = response
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .map_err(|e| format!("POST {path}: reading the answer: {e}"))?;
        Ok(Answer {
            status: response.status().as_u16(),
            body,
        })
    }

    /// GETs `path` and expects 200; answers the body as it came.
    pub async fn get_bytes(&self, path: &str, token: &str) -> Result<Answer, String> {
        let mut response = self
            .client
            .get(format!("{}{path}", self.base))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let body = response
            .body()
            .limit(256 * 1024 * 1024)
            .await
            .map_err(|e| format!("GET {path}: reading the answer: {e}"))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(format!(
                "GET {path}: expected 200, got {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(Answer { status, body })
    }

    /// GETs `path` and expects 200; answers the JSON.
    pub async fn get(&self, path: &str, token: &str) -> Result<Value, String> {
        let answer = self.get_bytes(path, token).await?;
        serde_json::from_slice(&answer.body).map_err(|e| format!("GET {path}: not JSON: {e}"))
    }

    /// POSTs `body` and expects `status`; answers the JSON.
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        status: u16,
    ) -> Result<Value, String> {
        let bytes = Bytes::from(serde_json::to_vec(body).map_err(|e| e.to_string())?);
        let answer = self.post_bytes(path, token, bytes).await?;
        if answer.status != status {
            return Err(format!(
                "POST {path}: expected {status}, got {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ));
        }
        answer.json()
    }
}

/// A string field of a JSON answer, or an error naming it.
pub fn text(value: &Value, field: &str) -> Result<String, String> {
    value[field]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("the answer has no {field}: {value}"))
}

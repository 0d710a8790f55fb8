//! EWS mailer (placeholder until written).

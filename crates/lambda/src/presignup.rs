//! The Cognito pre-sign-up trigger: confirms every new user at once (and verifies the email
//! address when one is given), as the seed's trigger did, so `POST /signup` is followed
//! directly by `POST /signin`.

use aws_lambda_events::event::cognito::CognitoEventUserPoolsPreSignup;
use lambda_runtime::{Error, LambdaEvent};

pub async fn handle(
    event: LambdaEvent<CognitoEventUserPoolsPreSignup>,
) -> Result<CognitoEventUserPoolsPreSignup, Error> {
    let mut e = event.payload;
    e.response.auto_confirm_user = true;
    // Verifying a phone number nobody was asked for would be wrong; an email given at sign-up
    // is the one the user typed, as in the seed.
    e.response.auto_verify_email = e.request.user_attributes.contains_key("email");
    Ok(e)
}
